//go:build linux || darwin || freebsd

package mapfile

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

func mmap(f *os.File, size int) ([]byte, error) {
	b, err := unix.Mmap(int(f.Fd()), 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE)
	if err != nil {
		return nil, fmt.Errorf("mapfile: map %s: %w", f.Name(), err)
	}
	// The pages are read where a search lands, not in order: without the
	// advice, a fault maps the pages around it too, and a few searches
	// would hold much of the file.
	_ = unix.Madvise(b, unix.MADV_RANDOM)
	return b, nil
}

func munmap(b []byte) error { return unix.Munmap(b) }
