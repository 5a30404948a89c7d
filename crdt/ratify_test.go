package crdt

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// ratifyBody makes the ratification of a random session as the site sees
// it; sometimes with a wrong digest or a revision swapped (a hostile
// client), which must count nowhere.
func (m *sim) ratifyBody(site *simSite) Body {
	ss, ok := pick(m.r, site.state.Sessions())
	if !ok {
		return nil
	}
	b, err := site.state.RatificationOf(ss.ID)
	if err != nil {
		return nil
	}
	switch m.r.IntN(8) {
	case 0:
		b.Digest[0] ^= 1
	case 1:
		if len(b.Entries) > 1 {
			b.Entries[0], b.Entries[1] = b.Entries[1], b.Entries[0]
		}
	}
	return b
}

// importBody imports one of a few sources, so that the same source is
// imported again, on other sites, into the same session.
func (m *sim) importBody(site *simSite, groups []Group) Body {
	ss, ok1 := pick(m.r, site.state.Sessions())
	g, ok2 := pick(m.r, groups)
	if !ok1 || !ok2 {
		return nil
	}
	k := byte(m.r.IntN(4))
	from := &Provenance{Gathering: GatheringID{9}, Session: OpID{9}, Proposal: OpID{k}, Revision: OpID{k, 1}, Digest: Digest{k}}
	return &ProposalBody{Session: ss.ID, Group: g.ID, Text: fmt.Sprintf("imported %d", k), From: from}
}

// TestConvergenceRatified: the random simulation (property_test.go) makes
// ratifications and imports among edits, partitions and shuffled,
// duplicated delivery; it must have ratified and imported something, and
// every site must show one ratified document per session, some with a
// hidden endorsing group's name withheld.
func TestConvergenceRatified(t *testing.T) {
	withheld := 0 // endorsing groups' names withheld, over every seed
	for seed := range uint64(4) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			m := runSim(t, 200+seed, 3000)
			founder := testSigner("founder")
			fresh := applyOps(founder.ID, shuffled(m.r, m.sites[0].ops))
			want := dump(t, fresh)
			for i, site := range m.sites {
				requireSameDump(t, fmt.Sprintf("site %d", i), want, dump(t, site.state))
			}
			ratified, imported := 0, 0
			for _, ss := range fresh.Sessions() {
				if rd, ok := fresh.Ratified(ss.ID); ok {
					ratified++
					for _, p := range rd.Text.Proposals {
						for _, g := range p.EndorsedBy {
							if g.Name == "" {
								withheld++
							}
						}
					}
				}
				d, _ := fresh.Document(ss.ID)
				seen := map[importKey]bool{}
				for _, p := range d.Proposals {
					if p.From != nil {
						imported++
						if seen[p.From.key()] {
							t.Errorf("source %s imported twice into session %s", p.From.Proposal, ss.ID)
						}
						seen[p.From.key()] = true
					}
				}
			}
			t.Logf("%d sessions ratified, %d imported proposals", ratified, imported)
			if ratified == 0 {
				t.Error("the simulation ratified nothing")
			}
		})
	}
	// Hidden groups that endorsed are ratified with their names withheld,
	// and the documents stay byte-identical everywhere.
	t.Logf("%d endorsing groups' names withheld", withheld)
	if withheld == 0 {
		t.Error("no ratification withheld a hidden endorsing group's name")
	}
}

// ratifyWorld: a session with two proposals, one endorsed by the other
// group, and the founder appointing a second facilitator.
func ratifyWorld(t *testing.T) *world {
	w := newWorld(t)
	w.op("facil", "founder", 1, &FacilitatorBody{Identity: who("bea")})
	w.op("s", "founder", 2, &SessionBody{Title: "Declaration", Cap: 5})
	w.op("g1", "ana", 3, &GroupBody{Name: "Paris"})
	w.op("g2", "bea", 4, &GroupBody{Name: "Dakar"})
	w.op("p1", "ana", 5, &ProposalBody{Session: w.ref("s"), Group: w.ref("g1"), Text: "Open data"})
	w.op("p2", "bea", 6, &ProposalBody{Session: w.ref("s"), Group: w.ref("g2"), Text: "Repair rights"})
	w.op("e", "bea", 7, &EndorseBody{Proposal: w.ref("p1"), Group: w.ref("g2"), Revision: w.ref("p1"), Endorse: true})
	return w
}

func TestRatifyFixesTheDocument(t *testing.T) {
	w := ratifyWorld(t)
	st := w.state()
	if _, ok := st.Ratified(w.ref("s")); ok {
		t.Fatal("ratified before any ratification")
	}
	b, err := st.RatificationOf(w.ref("s"))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Check(who("ana"), b); !errors.Is(err, ErrForbidden) {
		t.Errorf("a scribe ratifies: %v, want forbidden", err)
	}
	if err := st.Check(who("founder"), b); err != nil {
		t.Fatal(err)
	}
	w.op("r", "founder", 10, b)
	// Later: an edit, an endorsement withdrawn, a hide.
	w.op("rev", "ana", 11, &RevisionBody{Proposal: w.ref("p1"), Group: w.ref("g1"), Text: "Open data, always", Parents: []OpID{w.ref("p1")}})
	w.op("w", "bea", 12, &EndorseBody{Proposal: w.ref("p1"), Group: w.ref("g2"), Revision: w.ref("p1"), Endorse: false})
	w.op("h", "founder", 13, &HideBody{Target: w.ref("p2"), Hidden: true})
	st = w.state()
	rd, ok := st.Ratified(w.ref("s"))
	if !ok {
		t.Fatal("not ratified")
	}
	if rd.Ratification.ID != w.ref("r") || rd.Ratification.By != who("founder") || rd.Ratification.Digest != b.Digest {
		t.Errorf("ratification %+v", rd.Ratification)
	}
	if len(rd.Text.Proposals) != 2 || rd.Text.Proposals[0].Text != "Open data" || rd.Text.Proposals[1].Text != "Repair rights" {
		t.Fatalf("ratified text %+v", rd.Text.Proposals)
	}
	if g := rd.Text.Proposals[0].EndorsedBy; len(g) != 2 {
		t.Errorf("first proposal endorsed by %v, want both groups", g)
	}
	if RatifiedDigest(rd.Text) != b.Digest {
		t.Error("digest of the ratified text differs")
	}
	// A ratification with a wrong digest counts nowhere.
	bad := *b
	bad.Digest[0] ^= 1
	if err := st.Check(who("founder"), &bad); !errors.Is(err, ErrInvalid) {
		t.Errorf("wrong digest: %v", err)
	}
	w.op("bad", "founder", 20, &bad)
	if rd2, _ := w.state().Ratified(w.ref("s")); rd2.Ratification.ID != w.ref("r") {
		t.Error("a ratification with a wrong digest counts")
	}
	// Hidden content cannot be ratified.
	if _, err := st.RatificationOf(w.ref("s")); err != nil {
		t.Fatal(err)
	}
	w2 := ratifyWorld(t)
	w2.op("h", "founder", 8, &HideBody{Target: w2.ref("g2"), Hidden: true})
	b2, _ := w2.state().RatificationOf(w2.ref("s"))
	if err := w2.state().Check(who("founder"), b2); !errors.Is(err, ErrConflict) {
		t.Errorf("hidden group: %v, want conflict", err)
	}
}

// TestConcurrentRatifications: two facilitators ratify, apart, different
// states of the document; every order of delivery shows the later one, and
// both stay in the history.
func TestConcurrentRatifications(t *testing.T) {
	w := ratifyWorld(t)
	b1, err := w.state().RatificationOf(w.ref("s"))
	if err != nil {
		t.Fatal(err)
	}
	w.op("r1", "founder", 20, b1)
	base := slices.Clone(w.ops[:len(w.ops)-1])
	// bea, apart, saw an edit first.
	w2 := ratifyWorld(t)
	w2.op("rev", "bea", 11, &RevisionBody{Proposal: w2.ref("p2"), Group: w2.ref("g2"), Text: "Repair rights for all", Parents: []OpID{w2.ref("p2")}})
	b2, err := w2.state().RatificationOf(w2.ref("s"))
	if err != nil {
		t.Fatal(err)
	}
	w2.op("r2", "bea", 20, b2) // same wall clock: the id decides
	all := append(append(base, w.ops[len(w.ops)-1]), w2.ops[len(w2.ops)-2:]...)
	r := rand.New(rand.NewPCG(1, 2))
	var want []byte
	var rd RatifiedDocument
	for i := range 20 {
		st := applyOps(w.founder.ID, shuffled(r, all))
		got := dump(t, st)
		if i == 0 {
			want = got
			rd, _ = st.Ratified(w.ref("s"))
			continue
		}
		requireSameDump(t, "order", want, got)
	}
	later, r2 := w.ref("r1"), w2.ref("r2")
	if bytes.Compare(r2[:], later[:]) > 0 {
		later = r2
	}
	if rd.Ratification.ID != later || len(rd.History) != 2 {
		t.Errorf("ratified %s with %d in history, want %s and 2", rd.Ratification.ID, len(rd.History), later)
	}
}

func TestImportOnce(t *testing.T) {
	w := ratifyWorld(t)
	from := &Provenance{Gathering: GatheringID{1}, Session: OpID{2}, Proposal: OpID{3}, Revision: OpID{4}, Digest: Digest{5}}
	imp := &ProposalBody{Session: w.ref("s"), Group: w.ref("g2"), Text: "From Detroit", From: from}
	st := w.state()
	if err := st.Check(who("ana"), imp); !errors.Is(err, ErrForbidden) {
		t.Errorf("a scribe imports: %v", err)
	}
	if err := st.Check(who("bea"), imp); err != nil {
		t.Fatal(err)
	}
	w.op("i1", "bea", 10, imp)
	if err := w.state().Check(who("bea"), imp); !errors.Is(err, ErrConflict) {
		t.Errorf("second import: %v, want conflict", err)
	}
	// Another laptop imported the same source, apart.
	w.op("i2", "bea", 9, &ProposalBody{Session: w.ref("s"), Group: w.ref("g2"), Text: "From Detroit", From: from})
	// A scribe's forged provenance counts nowhere.
	w.op("i3", "ana", 11, &ProposalBody{Session: w.ref("s"), Group: w.ref("g1"), Text: "Forged", From: &Provenance{Proposal: OpID{7}}})
	st = w.state()
	d, _ := st.Document(w.ref("s"))
	n := 0
	for _, p := range d.Proposals {
		if p.From != nil {
			n++
			if p.ID != w.ref("i2") || *p.From != *from {
				t.Errorf("imported %s %+v, want the earlier import", p.ID, p.From)
			}
		}
	}
	if n != 1 || len(d.Proposals) != 3 {
		t.Errorf("%d imports among %d proposals, want 1 among 3", n, len(d.Proposals))
	}
	if _, _, ok := st.Proposal(w.ref("i1")); ok {
		t.Error("the duplicate import is readable")
	}
	// Imports and ratifications survive the snapshot.
	b, err := st.RatificationOf(w.ref("s"))
	if err != nil {
		t.Fatal(err)
	}
	w.op("r", "founder", 30, b)
	st = w.state()
	loaded, err := LoadSnapshot(w.founder.ID, st.Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	requireSameDump(t, "snapshot", dump(t, st), dump(t, loaded))
	if rd, ok := loaded.Ratified(w.ref("s")); !ok || len(rd.Text.Proposals) != 3 || rd.Text.Proposals[2].From == nil {
		t.Errorf("ratified after the snapshot: %+v", rd.Text)
	}
}

func TestImportEncoding(t *testing.T) {
	from := &Provenance{Gathering: GatheringID{1}, Session: OpID{2}, Proposal: OpID{3}, Revision: OpID{4}, Digest: Digest{5}}
	b := &ProposalBody{Session: OpID{6}, Group: OpID{7}, Text: "x", From: from}
	if b.Kind() != KindImport {
		t.Fatalf("kind %d", b.Kind())
	}
	plain := appendPayload(nil, b)
	got, err := decodePayload(plain)
	if err != nil {
		t.Fatal(err)
	}
	if g := got.(*ProposalBody); *g.From != *from || g.Text != "x" {
		t.Errorf("decoded %+v", g)
	}
	// A plain proposal keeps its old encoding.
	p := appendPayload(nil, &ProposalBody{Session: OpID{6}, Group: OpID{7}, Text: "x"})
	if len(p) != 2+32+32+2 || p[1] != byte(KindProposal) {
		t.Errorf("proposal encoding is %d bytes, kind %d", len(p), p[1])
	}
}

func TestDisclosure(t *testing.T) {
	w := ratifyWorld(t)
	b, _ := w.state().RatificationOf(w.ref("s"))
	w.op("r", "founder", 10, b)
	env := w.envs[len(w.envs)-1]
	d, err := w.keys.Disclose(env)
	if err != nil {
		t.Fatal(err)
	}
	op, err := OpenDisclosed(env, d)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := w.keys.Open(env)
	if !bytes.Equal(appendPayload(nil, op.Body), appendPayload(nil, want.Body)) {
		t.Error("disclosed body differs from the opened one")
	}
	rd, _ := w.state().Ratified(w.ref("s"))
	if _, _, err := CheckRatified(env.Bytes(), d, rd.Text); err != nil {
		t.Fatalf("intact: %v", err)
	}
	tampered := rd.Text
	tampered.Proposals = slices.Clone(rd.Text.Proposals)
	tampered.Proposals[1].Text = "Repair rights, for some"
	if _, _, err := CheckRatified(env.Bytes(), d, tampered); !errors.Is(err, ErrTampered) {
		t.Errorf("tampered text: %v", err)
	}
	raw := slices.Clone(env.Bytes())
	raw[len(raw)-1] ^= 1
	if _, _, err := CheckRatified(raw, d, rd.Text); !errors.Is(err, ErrSignature) {
		t.Errorf("bad signature: %v", err)
	}
	d[0] ^= 1
	if _, _, err := CheckRatified(env.Bytes(), d, rd.Text); !errors.Is(err, ErrSealed) {
		t.Errorf("wrong disclosure: %v", err)
	}
	// Another operation's disclosure opens only that operation.
	if _, err := OpenDisclosed(w.envs[0], Disclosure(d)); err == nil {
		t.Error("a disclosure opens another operation")
	}
}

// TestRatifyWithholdsHiddenEndorser: a hidden group that endorsed no
// longer blocks ratification (security review finding 8): the document
// names it by the hide that hid it, keeps its endorsement and withholds
// its name; showing it again later changes nothing in the record. Naming
// it by its own id while hidden is refused, and naming it twice (by its
// id and by its hide) counts nowhere.
func TestRatifyWithholdsHiddenEndorser(t *testing.T) {
	w := ratifyWorld(t)
	w.op("hp", "founder", 8, &HideBody{Target: w.ref("p2"), Hidden: true}) // p2 leaves the document
	h := w.op("hg", "founder", 9, &HideBody{Target: w.ref("g2"), Hidden: true})
	st := w.state()
	b, err := st.RatificationOf(w.ref("s"))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Check(who("founder"), b); err != nil {
		t.Fatalf("a hidden endorsing group blocks ratification: %v", err)
	}
	if len(b.Entries) != 1 || !slices.Equal(b.Entries[0].EndorsedBy, sortedIDs(w, "g1", "hg")) {
		t.Fatalf("entries %+v, want p1 endorsed by g1 and the hide of g2", b.Entries)
	}
	w.op("r", "founder", 10, b)
	w.op("show", "founder", 11, &HideBody{Target: w.ref("g2"), Hidden: false})
	rd, ok := w.state().Ratified(w.ref("s"))
	if !ok || rd.Ratification.ID != w.ref("r") {
		t.Fatalf("not ratified: %+v", rd.Ratification)
	}
	by := rd.Text.Proposals[0].EndorsedBy
	if len(by) != 2 {
		t.Fatalf("endorsed by %+v, want two endorsements kept", by)
	}
	withheld := 0
	for _, g := range by {
		if g.Name == "" {
			withheld++
			if g.ID != h {
				t.Errorf("withheld group named %s, want its hide %s", g.ID, h)
			}
		} else if g.Name == "Dakar" {
			t.Error("the hidden group's name is in the ratified document")
		}
	}
	if withheld != 1 || RatifiedDigest(rd.Text) != b.Digest {
		t.Errorf("%d names withheld, digest matches: %v", withheld, RatifiedDigest(rd.Text) == b.Digest)
	}

	// While it is hidden, naming it by its own id would publish its name.
	w2 := ratifyWorld(t)
	w2.op("hp", "founder", 8, &HideBody{Target: w2.ref("p2"), Hidden: true})
	w2.op("hg", "founder", 9, &HideBody{Target: w2.ref("g2"), Hidden: true})
	st2 := w2.state()
	named := &RatificationBody{Session: w2.ref("s"), Title: "Declaration", Entries: []RatifiedEntry{{Revision: w2.ref("p1"), EndorsedBy: sortedIDs(w2, "g1", "g2")}}}
	tx, err := st2.textOf(named)
	if err != nil {
		t.Fatal(err)
	}
	named.Digest = RatifiedDigest(tx)
	if err := st2.Check(who("founder"), named); !errors.Is(err, ErrConflict) {
		t.Errorf("a hidden group named by its id: %v, want conflict", err)
	}
	// The same group by its id and by its hide: one endorsement, not two.
	twice := &RatificationBody{Session: w2.ref("s"), Title: "Declaration", Entries: []RatifiedEntry{{Revision: w2.ref("p1"), EndorsedBy: sortedIDs(w2, "g1", "g2", "hg")}}}
	if err := st2.Check(who("founder"), twice); !errors.Is(err, ErrInvalid) {
		t.Errorf("a group endorsing twice: %v, want invalid", err)
	}
	w2.op("r", "founder", 10, twice)
	if _, ok := w2.state().Ratified(w2.ref("s")); ok {
		t.Error("a ratification naming a group twice counts")
	}
	// A hidden proposing group still blocks: its name is the proposal's.
	w3 := ratifyWorld(t)
	w3.op("hg", "founder", 9, &HideBody{Target: w3.ref("g1"), Hidden: true})
	b3, err := w3.state().RatificationOf(w3.ref("s"))
	if err != nil {
		t.Fatal(err)
	}
	if err := w3.state().Check(who("founder"), b3); !errors.Is(err, ErrConflict) {
		t.Errorf("a hidden proposing group: %v, want conflict", err)
	}
}
