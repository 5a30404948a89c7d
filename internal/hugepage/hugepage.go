// Package hugepage makes large slices whose memory the kernel may back
// with huge pages.
//
// A node's start-up fills a few hundred megabytes of fresh memory (a
// million operation records, their bodies, their index), and in a new
// process every 4-KB page of it is a fault: on the 2-core VM the budget is
// measured on, 15–23 µs each, about a third of the start. Linux backs a
// region with 2-MB pages, 512 times fewer faults, when the region is
// advised so (MADV_HUGEPAGE) and transparent huge pages are "madvise" or
// "always"; Go's heap does not ask for it. The advice changes where the
// memory lies, never what it holds; elsewhere, and for small slices, Make
// is make.
//
// The environment variable CONVENE_HUGEPAGES=off turns the advice off: on
// a machine whose memory is fragmented, with the kernel's default defrag
// setting ("madvise"), a fault in an advised region may wait for the
// kernel to compact memory (the reason Go's runtime stopped advising its
// heap, golang/go#61718). The huge page is taken as 2 MB, its size on
// amd64 and on arm64 with 4-KB pages; where it is larger the advice covers
// no whole page and does nothing.
package hugepage

import (
	"os"
	"unsafe"
)

// minBytes is the size from which Make advises: a slice smaller than a
// few huge pages would commit more than it uses, for few faults saved.
const minBytes = 4 << 20

// pageSize is the size of a huge page on the platforms that have them.
const pageSize = 2 << 20

// Make is make([]T, n), its memory advised for huge pages where that is
// possible and worthwhile. The slice is zeroed, as make's is.
func Make[T any](n int) []T {
	s := make([]T, n)
	var zero T
	size := uintptr(n) * unsafe.Sizeof(zero)
	if size < minBytes || os.Getenv("CONVENE_HUGEPAGES") == "off" {
		return s
	}
	// Only the whole huge pages inside the slice are advised: the rest
	// of their neighbours belongs to other objects.
	start := uintptr(unsafe.Pointer(unsafe.SliceData(s)))
	lo := (start + pageSize - 1) &^ (pageSize - 1)
	hi := (start + size) &^ (pageSize - 1)
	if hi > lo {
		advise(unsafe.Add(unsafe.Pointer(unsafe.SliceData(s)), lo-start), hi-lo)
	}
	return s
}
