//go:build !(linux || darwin || freebsd)

package mapfile

import "os"

func mmap(*os.File, int) ([]byte, error) { return nil, ErrUnsupported }

func munmap([]byte) error { return ErrUnsupported }
