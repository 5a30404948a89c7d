package crdt

import (
	"unsafe"

	"github.com/convene/convene/internal/hugepage"
)

// slab hands out values of T from chunks: a state's operations, proposals
// and commonest bodies are never freed one by one, and a million of them
// allocated singly are a million objects for the collector, each rounded
// up to its size class. Chunks double from slabMin values up to slabBytes,
// so a small state takes little and a large one takes chunks big enough
// to be backed by huge pages (internal/hugepage), which a new process
// faults in 512 times fewer pages than ordinary ones.
type slab[T any] struct {
	free []T
	next int // the size of the next chunk
}

// slabBytes is the largest chunk. The last chunk of each slab is on
// average half unused (about 10 MB of a million operations' state);
// 4-MB chunks halved that but started a million operations 100 ms slower
// (each holds at most one whole huge page, and faults the rest in).
const (
	slabMin   = 64
	slabBytes = 8 << 20
)

// grow allocates the next chunk.
func (sl *slab[T]) grow() {
	limit := max(slabMin, slabBytes/max(1, int(unsafe.Sizeof(*new(T)))))
	sl.next = min(max(2*sl.next, slabMin), limit)
	sl.free = hugepage.Make[T](sl.next)
}

// reserve makes room for n values in one chunk, when the caller knows
// how many will come (a snapshot's hints); growing by doubling leaves the
// last chunk half unused on average.
func (sl *slab[T]) reserve(n int) {
	if n > len(sl.free) {
		sl.free = hugepage.Make[T](n)
	}
}

func (sl *slab[T]) take() *T {
	if len(sl.free) == 0 {
		sl.grow()
	}
	x := &sl.free[0]
	sl.free = sl.free[1:]
	return x
}

// list is n values from the slab, its capacity n, so that an append to it
// copies rather than writes over the next list. A list longer than a
// chunk's quarter is allocated alone.
func (sl *slab[T]) list(n int) []T {
	if n > len(sl.free) {
		if n > max(sl.next, slabMin)/4 {
			return make([]T, n)
		}
		sl.grow()
	}
	l := sl.free[:n:n]
	sl.free = sl.free[n:]
	return l
}
