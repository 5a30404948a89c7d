package crdt

import "testing"

// TestOpIndexPrefix applies operations whose ids share their first 8 bytes,
// which the state's index keys by.
func TestOpIndexPrefix(t *testing.T) {
	founder := testSigner("founder").ID
	var ids [3]OpID
	for i := range ids {
		copy(ids[i][:8], "samepfx!")
		ids[i][31] = byte(i)
	}
	s := NewState(founder)
	for i, id := range ids[:2] {
		op := Op{ID: id, signer: authored(who("alice")), Clock: Clock{Wall: int64(10 + i)}, Body: &IdentityBody{Name: "A"}}
		if !s.Apply(op) {
			t.Fatalf("op %d not new", i)
		}
		if s.Apply(op) {
			t.Fatalf("op %d applied twice", i)
		}
	}
	if !s.Has(ids[0]) || !s.Has(ids[1]) || s.Has(ids[2]) || s.Len() != 2 {
		t.Fatalf("Has %v %v %v, Len %d", s.Has(ids[0]), s.Has(ids[1]), s.Has(ids[2]), s.Len())
	}
	for i, id := range ids {
		c, ok := s.ClockOf(id)
		if want := (Clock{Wall: int64(10 + i)}); ok != (i < 2) || ok && c != want {
			t.Errorf("ClockOf(op %d) = %v, %v", i, c, ok)
		}
	}
	got, err := LoadSnapshot(founder, s.Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	if !got.Has(ids[0]) || !got.Has(ids[1]) || got.Len() != 2 {
		t.Fatal("snapshot lost an operation")
	}
	requireSameDump(t, "snapshot", dump(t, s), dump(t, got))
}

// TestSessionOf finds a proposal's session, and its revisions' and
// comments', without assembling the session's document.
func TestSessionOf(t *testing.T) {
	w := newWorld(t)
	setup(w)
	w.op("p", "alice", 20, &ProposalBody{Session: w.ref("s"), Group: w.ref("ga"), Text: "one"})
	w.op("r", "alice", 21, &RevisionBody{Proposal: w.ref("p"), Group: w.ref("ga"), Text: "two", Parents: ids(w, "p")})
	w.op("c", "bob", 22, &CommentBody{Proposal: w.ref("p"), Text: "hm"})
	// Not by a scribe of the group: invalid, yet it names its session.
	w.op("bad", "mallory", 23, &ProposalBody{Session: w.ref("s"), Group: w.ref("ga"), Text: "forged"})
	w.op("orphan", "alice", 24, &RevisionBody{Proposal: OpID{1}, Group: w.ref("ga"), Text: "x", Parents: []OpID{{1}}})
	s := w.state()
	for _, tc := range []struct {
		name string
		id   OpID
		ok   bool
	}{
		{"proposal", w.ref("p"), true},
		{"revision", w.ref("r"), true},
		{"comment", w.ref("c"), true},
		{"invalid proposal", w.ref("bad"), true},
		{"session", w.ref("s"), false},
		{"group", w.ref("ga"), false},
		{"revision of a missing proposal", w.ref("orphan"), false},
		{"unknown", OpID{9}, false},
	} {
		got, ok := s.SessionOf(tc.id)
		if ok != tc.ok || (ok && got != w.ref("s")) {
			t.Errorf("%s: SessionOf = %v, %v; want session s, %v", tc.name, got, ok, tc.ok)
		}
	}
	if ss := s.sessions.get(w.ref("s")); !ss.doc.dirty {
		t.Error("SessionOf assembled the session's document")
	}
}

// TestSignerShared: the operations of one author in one epoch that a
// state holds share one signer (Op.signer), whether applied, loaded from
// a snapshot or applied after one; Author and Epoch read it back.
func TestSignerShared(t *testing.T) {
	founder := testSigner("founder").ID
	authors := []IdentityID{who("alice"), who("bob")}
	op := func(i int) Op {
		var id OpID
		id[0], id[1] = byte(i), 0xAA
		return Op{ID: id, signer: &opSigner{authors[i%2], uint64(i % 3 / 2)}, Clock: Clock{Wall: int64(10 + i)}, Body: &IdentityBody{Name: "A"}}
	}
	shared := func(s *State, what string) {
		t.Helper()
		signers := make(map[opSigner]*opSigner)
		n := 0
		s.ops.each(func(o *Op) {
			n++
			i := int(o.ID[0])
			if o.Author() != authors[i%2] || o.Epoch() != uint64(i%3/2) {
				t.Fatalf("%s: operation %d reads author %s, epoch %d", what, i, o.Author(), o.Epoch())
			}
			key := opSigner{o.Author(), o.Epoch()}
			if p, ok := signers[key]; ok && p != o.signer {
				t.Fatalf("%s: two signers for one author and epoch", what)
			}
			signers[key] = o.signer
		})
		if len(signers) != 4 || n != s.Len() {
			t.Fatalf("%s: %d signers over %d operations", what, len(signers), n)
		}
	}
	s := NewState(founder)
	for i := range 6 {
		s.Apply(op(i))
	}
	shared(s, "applied")
	got, err := LoadSnapshot(founder, s.Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	shared(got, "loaded")
	for i := 6; i < 12; i++ {
		got.Apply(op(i))
	}
	shared(got, "applied after a snapshot")
	if (&Op{}).Author() != (IdentityID{}) || (&Op{}).Epoch() != 0 {
		t.Error("an operation with no signer reads an author or an epoch")
	}
}
