//go:build !linux

package hugepage

import "unsafe"

// advise does nothing where there is no MADV_HUGEPAGE to ask for.
func advise(unsafe.Pointer, uintptr) {}
