package crdt

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/convene/convene/internal/cputime"
)

// mixGen makes a realistic stream of mostly valid operations: a few
// sessions, groups with one scribe each, proposals edited in turn,
// endorsements of current revisions, comments, events and registrations.
type mixGen struct {
	r        *rand.Rand
	signers  []Signer
	emit     func(sg Signer, body Body) OpID
	sessions []OpID
	groups   []OpID
	props    []OpID
	heads    []OpID
	events   []OpID
}

func newMixGen(seed uint64, sessions int, emit func(sg Signer, body Body) OpID) *mixGen {
	g := &mixGen{r: rand.New(rand.NewPCG(seed, 7)), emit: emit}
	for i := range 50 {
		g.signers = append(g.signers, testSigner(fmt.Sprintf("bench%d", i)))
	}
	founder := testSigner("founder")
	g.emit(founder, &GatheringBody{Name: "Bench"})
	for i, sg := range g.signers {
		g.emit(sg, &IdentityBody{Name: fmt.Sprintf("person %d", i)})
		g.groups = append(g.groups, g.emit(sg, &GroupBody{Name: fmt.Sprintf("group %d", i)}))
	}
	for i := range sessions {
		g.sessions = append(g.sessions, g.emit(founder, &SessionBody{Title: fmt.Sprintf("session %d", i), Cap: 100}))
	}
	for i := range 20 {
		g.events = append(g.events, g.emit(g.signers[i], &EventBody{EventFields{
			Title: "event", Start: "2026-05-01T10:00:00Z", End: "2026-05-01T12:00:00Z",
			Timezone: "UTC", Status: Confirmed, Capacity: 30}}))
	}
	return g
}

func (g *mixGen) text() string {
	return strings.Repeat("word ", 4+g.r.IntN(80))
}

func (g *mixGen) next() {
	r := g.r
	gi := r.IntN(len(g.groups))
	sg := g.signers[gi]
	x := r.IntN(100)
	switch {
	case x < 15 || len(g.props) == 0:
		id := g.emit(sg, &ProposalBody{Session: g.sessions[r.IntN(len(g.sessions))], Group: g.groups[gi], Text: g.text()})
		g.props = append(g.props, id)
		g.heads = append(g.heads, id)
	case x < 40:
		pi := r.IntN(len(g.props))
		g.heads[pi] = g.emit(sg, &RevisionBody{Proposal: g.props[pi], Group: g.groups[gi], Text: g.text(), Parents: []OpID{g.heads[pi]}})
	case x < 70:
		pi := r.IntN(len(g.props))
		g.emit(sg, &EndorseBody{Proposal: g.props[pi], Group: g.groups[gi], Revision: g.heads[pi], Endorse: r.IntN(5) != 0})
	case x < 80:
		g.emit(sg, &CommentBody{Proposal: g.props[r.IntN(len(g.props))], Text: g.text()})
	case x < 95:
		g.emit(sg, &ParticipationBody{Event: g.events[r.IntN(len(g.events))], Status: Going})
	default:
		ei := r.IntN(len(g.events))
		g.emit(g.signers[ei], &EventUpdateBody{Event: g.events[ei], Set: EventPatch{Title: ptr(fmt.Sprint("event ", r.IntN(100)))}})
	}
}

// syntheticOps makes n operations without sealing them: State.Apply does not
// look at signatures, and sealing a million operations would dominate.
func syntheticOps(n, sessions int) []Op {
	ops := make([]Op, 0, n)
	var wall int64 = 1_700_000_000_000
	g := newMixGen(1, sessions, func(sg Signer, body Body) OpID {
		var id OpID
		binary.BigEndian.PutUint64(id[:], uint64(len(ops)))
		id = sha256.Sum256(id[:])
		wall += 3
		ops = append(ops, Op{ID: id, signer: authored(sg.ID), Clock: Clock{Wall: wall}, Body: body})
		return id
	})
	for len(ops) < n {
		g.next()
	}
	return ops
}

func BenchmarkApply(b *testing.B) {
	ops := syntheticOps(200_000, 50)
	founder := testSigner("founder").ID
	s := NewState(founder)
	i := 0
	for b.Loop() {
		if i == len(ops) {
			b.StopTimer()
			s, i = NewState(founder), 0
			b.StartTimer()
		}
		s.Apply(ops[i])
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

// BenchmarkApplyAt1M times Apply on a state that already holds a million
// operations, and reports the heap it takes.
func BenchmarkApplyAt1M(b *testing.B) {
	ops := syntheticOps(1_100_000, 500)
	founder := testSigner("founder").ID
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	s := NewState(founder)
	t0 := time.Now()
	for _, op := range ops[:1_000_000] {
		s.Apply(op)
	}
	load := time.Since(t0)
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	rest := ops[1_000_000:]
	i := 0
	b.ResetTimer()
	for b.Loop() {
		if i == len(rest) {
			b.StopTimer()
			// Start over on the same large state with operations it lacks.
			rest = syntheticOpsFrom(s, len(rest))
			i = 0
			b.StartTimer()
		}
		s.Apply(rest[i])
		i++
	}
	b.ReportMetric(float64(after.HeapInuse-before.HeapInuse)/(1<<20), "MB-heap-at-1M")
	b.ReportMetric(load.Seconds(), "s-to-load-1M")
	runtime.KeepAlive(ops)
}

// syntheticOpsFrom makes comments on proposals s holds, under fresh ids.
func syntheticOpsFrom(s *State, n int) []Op {
	sessions := s.Sessions()
	d, _ := s.Document(sessions[0].ID)
	out := make([]Op, n)
	for i := range out {
		var id OpID
		binary.BigEndian.PutUint64(id[:], uint64(s.Len()+i))
		id[31] = 0xff
		out[i] = Op{ID: id, signer: authored(testSigner("founder").ID), Clock: Clock{Wall: 1_800_000_000_000 + int64(i)},
			Body: &EndorseBody{Proposal: d.Proposals[i%len(d.Proposals)].ID, Group: d.Proposals[0].Group, Revision: d.Proposals[0].Revision, Endorse: true}}
	}
	return out
}

// BenchmarkDocument times reading a session's document of a few hundred
// proposals after one endorsement changed it.
func BenchmarkDocument(b *testing.B) {
	ops := syntheticOps(20_000, 5)
	s := applyOps(testSigner("founder").ID, ops)
	sid := s.Sessions()[0].ID
	d, _ := s.Document(sid)
	founder := testSigner("founder")
	// Pre-make the changes: a withdraw by a group that never endorsed the
	// proposal still makes it and the document stale.
	changes := make([]Op, 100_000)
	for i := range changes {
		p := d.Proposals[i%len(d.Proposals)]
		var id OpID
		binary.BigEndian.PutUint64(id[:], uint64(i))
		id[30] = 0xee
		changes[i] = Op{ID: id, signer: authored(founder.ID), Clock: Clock{Wall: 1_900_000_000_000 + int64(i)},
			Body: &EndorseBody{Proposal: p.ID, Group: p.Group, Revision: p.Revision}}
	}
	i := 0
	for b.Loop() {
		s.Apply(changes[i%len(changes)])
		i++
		s.Document(sid)
	}
	b.ReportMetric(float64(len(d.Proposals)+len(d.Waiting)), "proposals")
}

// BenchmarkIngest compares, in the same run and on the same operations, the
// raw ed25519 verify rate with the full ingest path (decode, verify, open,
// decode the body, apply). The budget asks ratio = ingest/verify >= 0.8.
func BenchmarkIngest(b *testing.B) {
	founder := testSigner("founder")
	keys := testKeys(founder.ID)
	var raws [][]byte
	var wall int64 = 1_700_000_000_000
	g := newMixGen(2, 5, func(sg Signer, body Body) OpID {
		wall += 3
		env, op, err := keys.Seal(sg, Clock{Wall: wall}, body)
		if err != nil {
			b.Fatal(err)
		}
		raws = append(raws, env.Bytes())
		return op.ID
	})
	for len(raws) < 3000 {
		g.next()
	}
	var verify, ingest time.Duration
	n := 0
	for b.Loop() {
		t0 := time.Now()
		for _, raw := range raws {
			pub := ed25519.PublicKey(raw[33:65])
			if !ed25519.Verify(pub, raw[:len(raw)-sigSize], raw[len(raw)-sigSize:]) {
				b.Fatal("bad signature")
			}
		}
		t1 := time.Now()
		s := NewState(founder.ID)
		for _, raw := range raws {
			_, op, err := keys.Accept(raw)
			if err != nil {
				b.Fatal(err)
			}
			s.Apply(op)
		}
		t2 := time.Now()
		verify += t1.Sub(t0)
		ingest += t2.Sub(t1)
		n += len(raws)
	}
	b.ReportMetric(float64(n)/verify.Seconds(), "verify/s")
	b.ReportMetric(float64(n)/ingest.Seconds(), "ingest/s")
	b.ReportMetric(verify.Seconds()/ingest.Seconds(), "ratio")
}

// BenchmarkLoadSnapshot times a restart from a snapshot of 200,000
// operations, and reports the heap the loaded state takes per operation.
func BenchmarkLoadSnapshot(b *testing.B) {
	founder := testSigner("founder").ID
	snap := applyOps(founder, syntheticOps(200_000, 50)).Snapshot()
	heap := loadedHeap(b, founder, snap)
	cpu := cputime.Process()
	for b.Loop() {
		if _, err := LoadSnapshot(founder, snap); err != nil {
			b.Fatal(err)
		}
	}
	// CPU time, the collector's included: on a shared machine it varies
	// far less than the time elapsed.
	b.ReportMetric(float64(cputime.Process()-cpu)/float64(b.N)/1e6, "cpu-ms/op")
	b.ReportMetric(200_000*float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	b.ReportMetric(float64(len(snap))/200_000, "bytes/op")
	b.ReportMetric(heap/200_000, "heap-B/op")
}

// BenchmarkStart1M is the budget's start: load a snapshot of a million
// operations and read what the UI shows first (the sessions and one
// document), reporting the heap it all takes.
func BenchmarkStart1M(b *testing.B) {
	founder := testSigner("founder").ID
	snap := applyOps(founder, syntheticOps(1_000_000, 500)).Snapshot()
	heap := loadedHeap(b, founder, snap)
	for b.Loop() {
		s, err := LoadSnapshot(founder, snap)
		if err != nil {
			b.Fatal(err)
		}
		if _, ok := s.Document(s.Sessions()[0].ID); !ok {
			b.Fatal("no document")
		}
	}
	b.ReportMetric(float64(len(snap))/1e6, "bytes/op")
	b.ReportMetric(heap/(1<<20), "MB-heap")
}

// loadedHeap is the heap a state loaded from snap holds, in bytes.
func loadedHeap(b *testing.B, founder IdentityID, snap []byte) float64 {
	b.Helper()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	s, err := LoadSnapshot(founder, snap)
	if err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(s)
	return float64(after.HeapInuse) - float64(before.HeapInuse)
}

// BenchmarkSetTable builds the id table of a million operations with
// random ids (DECISIONS.md, "The snapshot's id table keeps no copy of the
// ids"; 80–130 ms on the bench's VM):
// go test ./crdt -run XXX -bench SetTable -benchtime 10x.
func BenchmarkSetTable(b *testing.B) {
	const n = 1 << 20
	all := make([]Op, n)
	rnd := rand.New(rand.NewPCG(1, 2))
	for i := range all {
		for j := 0; j < 32; j += 8 {
			binary.LittleEndian.PutUint64(all[i].ID[j:], rnd.Uint64())
		}
	}
	b.ResetTimer()
	for range b.N {
		var x opIndex
		if !x.setTable(all) {
			b.Fatal("setTable refused distinct ids")
		}
	}
}
