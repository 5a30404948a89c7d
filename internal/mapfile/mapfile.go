// Package mapfile maps a file's bytes into memory, privately and
// writably: pages are read in when first touched, and a write copies its
// page for this process alone, so the file itself never changes.
//
// The saved reconciliation index is mapped so (node/store): a start then
// reads its pages through the page cache to check them, but does not hold
// them, and a node keeps in memory only the parts a reconciliation
// touches. The file must not be changed in place while mapped: touching
// a page past a truncated end faults, and a page not yet touched shows
// whatever was written over it, unchecked. node/store only ever replaces
// the file by rename, which leaves a mapping on the old one.
package mapfile

import (
	"errors"
	"os"
)

// ErrUnsupported is returned where there is no mapping to use; the caller
// reads the file instead.
var ErrUnsupported = errors.New("mapfile: not supported on this platform")

// Map maps the first size bytes of f. Unmap releases them; until then the
// slice stays valid after f is closed.
func Map(f *os.File, size int) ([]byte, error) {
	if size <= 0 {
		return nil, errors.New("mapfile: nothing to map")
	}
	return mmap(f, size)
}

// Unmap releases a slice Map returned. Nothing may touch it after.
func Unmap(b []byte) error { return munmap(b) }
