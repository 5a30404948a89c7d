package crdt

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
)

// storeTexts stands for the node's store: every text of the operations
// applied, by clock and id (the log's key). down makes every read fail, as
// a closed store would.
type storeTexts struct {
	texts map[OpRef]string
	reads int
	down  bool
}

func (st *storeTexts) ColdText(id OpID, clock Clock) (string, error) {
	if st.down {
		return "", errors.New("store closed")
	}
	t, ok := st.texts[OpRef{ID: id, Clock: clock}]
	if !ok {
		return "", fmt.Errorf("%s at %s not stored", id, clock)
	}
	st.reads++
	return t, nil
}

func newStoreTexts(ops []Op) *storeTexts {
	st := &storeTexts{texts: make(map[OpRef]string)}
	for _, op := range ops {
		if t := BodyText(op.Body); t != "" {
			st.texts[OpRef{ID: op.ID, Clock: op.Clock}] = t
		}
	}
	return st
}

// withoutText is op as a state holds it cold.
func withoutText(op Op) Op {
	op.Body = withText(op.Body, "")
	return op
}

// TestColdText: a state holding texts cold, whether loaded from a snapshot
// that left them out or fed operations without them (in any order, with
// duplicates), shows byte-identical documents, revisions, comments and
// ratified documents (their digests included) to the state that holds every
// text, for the property-test corpora; a read that fails decides nothing
// for good.
func TestColdText(t *testing.T) {
	for seed := range uint64(3) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			m := runSim(t, seed, 2000)
			founder := testSigner("founder").ID
			union := m.sites[0].ops
			r := rand.New(rand.NewPCG(seed, 7))
			full := applyOps(founder, shuffled(r, union))
			want := dump(t, full)
			st := newStoreTexts(union)
			if len(st.texts) == 0 {
				t.Fatal("the corpus holds no text to hold cold")
			}

			whole := full.Snapshot()
			full.SetColdText(st)
			snap := full.Snapshot()
			if len(snap) >= len(whole) {
				t.Fatalf("a snapshot with cold texts takes %d bytes, one with every text %d", len(snap), len(whole))
			}
			requireSameDump(t, "the state that wrote it", want, dump(t, full))

			loaded, err := LoadSnapshot(founder, snap)
			if err != nil {
				t.Fatal(err)
			}
			loaded.SetColdText(st)
			requireSameDump(t, "loaded with cold texts", want, dump(t, loaded))
			if st.reads == 0 {
				t.Fatal("nothing was read back: no text was held cold")
			}
			again, err := LoadSnapshot(founder, loaded.Snapshot())
			if err != nil {
				t.Fatalf("a cold state's own snapshot does not load: %v", err)
			}
			again.SetColdText(st)
			requireSameDump(t, "snapshot of the loaded state", want, dump(t, again))

			// Failing reads first: they must not be remembered.
			down := &storeTexts{down: true}
			failing, err := LoadSnapshot(founder, snap)
			if err != nil {
				t.Fatal(err)
			}
			failing.SetColdText(down)
			dump(t, failing)
			failing.SetColdText(st)
			requireSameDump(t, "after reads failed", want, dump(t, failing))

			// Every text cold: operations as a rebuild could feed them.
			cold := NewState(founder)
			cold.SetColdText(st)
			for _, op := range shuffled(r, union) {
				cold.Apply(withoutText(op))
			}
			requireSameDump(t, "every text cold", want, dump(t, cold))

			// Texts dropped as operations are applied (as a rebuild from
			// the log does), in any order, with duplicates; documents
			// read in between too, so that heads are computed and change.
			chilled := NewState(founder)
			chilled.SetColdText(st)
			chilled.chillMin = 16
			feed := shuffled(r, union)
			feed = append(feed, feed[:len(feed)/3]...)
			for i, op := range feed {
				chilled.Apply(op)
				if i%500 == 0 {
					dump(t, chilled)
				}
			}
			requireSameDump(t, "texts chilled as applied", want, dump(t, chilled))
			held, chilledCold := 0, 0
			chilled.ops.each(func(o *Op) {
				if textField(o.Body) != nil {
					if isCold(o) {
						chilledCold++
					} else {
						held++
					}
				}
			})
			if chilledCold == 0 || held > chilled.proposals.len()+chilled.chillAt {
				t.Fatalf("after chilling: %d texts held, %d cold, for %d proposals", held, chilledCold, chilled.proposals.len())
			}
			reloaded, err := LoadSnapshot(founder, chilled.Snapshot())
			if err != nil {
				t.Fatal(err)
			}
			reloaded.SetColdText(st)
			requireSameDump(t, "snapshot of a chilled state", want, dump(t, reloaded))
		})
	}
}

// TestSnapshotV3: a version 3 snapshot (every text in it) still loads.
func TestSnapshotV3(t *testing.T) {
	w := sampleOps(t)
	s := applyOps(w.founder.ID, w.ops)
	snap := s.Snapshot()
	if !bytes.HasPrefix(snap, snapshotMagic[:]) {
		t.Fatal("a snapshot without the current magic")
	}
	v3 := withMagic(snapshotMagicV3, snap)
	got, err := LoadSnapshot(w.founder.ID, v3)
	if err != nil {
		t.Fatal(err)
	}
	requireSameDump(t, "version 3", dump(t, s), dump(t, got))
}
