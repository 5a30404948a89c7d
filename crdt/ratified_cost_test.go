package crdt

import "testing"

// TestRatifiedCostOneDocument: a facilitator's flood of ratifications
// costs a reader of the ratified document one rebuilt document, not one
// per ratification (each rebuild hashes every text it names). Whether a
// ratification's digest matches is remembered only once every operation
// it names is held: a ratification that arrives before its revision
// counts once the revision does.
func TestRatifiedCostOneDocument(t *testing.T) {
	w := ratifyWorld(t)
	b, err := w.state().RatificationOf(w.ref("s"))
	if err != nil {
		t.Fatal(err)
	}
	const n = 300
	for i := range n {
		w.op("", "founder", int64(10+i), b)
	}
	st := w.state()
	rd, ok := st.Ratified(w.ref("s"))
	if !ok || len(rd.History) != n {
		t.Fatalf("ratified %v with %d in history, want %d", ok, len(rd.History), n)
	}
	allocs := testing.AllocsPerRun(5, func() { st.Ratified(w.ref("s")) })
	if allocs > n/3 {
		t.Errorf("reading the ratified document after %d ratifications: %.0f allocations", n, allocs)
	}

	// Held before its revision: not counted, then counted.
	w2 := ratifyWorld(t)
	w2.op("rev", "ana", 8, &RevisionBody{Proposal: w2.ref("p1"), Group: w2.ref("g1"), Text: "Open data, always", Parents: []OpID{w2.ref("p1")}})
	b2, err := w2.state().RatificationOf(w2.ref("s"))
	if err != nil {
		t.Fatal(err)
	}
	w2.op("r", "founder", 9, b2)
	ops := w2.ops
	st2 := NewState(w2.founder.ID)
	for _, op := range ops {
		if op.ID != w2.ref("rev") {
			st2.Apply(op)
		}
	}
	if _, ok := st2.Ratified(w2.ref("s")); ok {
		t.Fatal("ratified before the revision it names arrived")
	}
	for _, op := range ops {
		if op.ID == w2.ref("rev") {
			st2.Apply(op)
		}
	}
	if rd, ok := st2.Ratified(w2.ref("s")); !ok || rd.Ratification.ID != w2.ref("r") {
		t.Fatalf("not ratified once the revision arrived: %v %+v", ok, rd.Ratification)
	}
}
