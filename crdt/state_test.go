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
		op := Op{ID: id, Author: who("alice"), Clock: Clock{Wall: int64(10 + i)}, Body: &IdentityBody{Name: "A"}}
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
	got, err := LoadSnapshot(founder, s.Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	if !got.Has(ids[0]) || !got.Has(ids[1]) || got.Len() != 2 {
		t.Fatal("snapshot lost an operation")
	}
	requireSameDump(t, "snapshot", dump(t, s), dump(t, got))
}
