//go:build !plan9 && !js && !wasip1 && !windows

package web

import (
	"errors"
	"syscall"
)

// diskFull reports whether err says the disk is full. The store wraps its
// errors with %w, so the OS error is still there to find.
func diskFull(err error) bool { return errors.Is(err, syscall.ENOSPC) }
