package crdt

import (
	"testing"
	"unsafe"
)

// TestSlab: values are distinct and zeroed, chunks grow from slabMin to
// slabBytes, and a list never overlaps the next one or a later value.
func TestSlab(t *testing.T) {
	var sl slab[OpID]
	seen := make(map[*OpID]bool)
	size := int(unsafe.Sizeof(OpID{}))
	for i := range 3 * slabBytes / size {
		x := sl.take()
		if seen[x] {
			t.Fatalf("value %d handed out twice", i)
		}
		if *x != (OpID{}) {
			t.Fatalf("value %d not zero", i)
		}
		seen[x] = true
		x[0] = 1
	}
	if want := slabBytes / size; sl.next != want {
		t.Errorf("chunks grew to %d values, want %d (slabBytes)", sl.next, want)
	}

	var ls slab[OpID]
	a := ls.list(3)
	b := ls.list(5)
	if len(a) != 3 || cap(a) != 3 || len(b) != 5 || cap(b) != 5 {
		t.Fatalf("lists %d/%d and %d/%d, want 3/3 and 5/5", len(a), cap(a), len(b), cap(b))
	}
	a = append(a, OpID{7})
	if b[0] != (OpID{}) {
		t.Error("an append to one list wrote over the next")
	}
	if long := ls.list(slabMin); len(long) != slabMin {
		t.Errorf("a long list has %d values", len(long))
	}
}
