package hugepage

import (
	"syscall"
	"unsafe"
)

// madvHugepage is MADV_HUGEPAGE, which the syscall package does not name.
const madvHugepage = 14

// advise asks for huge pages over [p, p+n). A refusal (a kernel without
// transparent huge pages, or with them off) leaves ordinary pages, which
// is what there was before.
func advise(p unsafe.Pointer, n uintptr) {
	_ = syscall.Madvise(unsafe.Slice((*byte)(p), n), madvHugepage)
}
