//go:build unix

// Package cputime reads the CPU time this process has used, for
// benchmarks that compare work with work rather than with the wall clock
// of a shared machine.
package cputime

import (
	"syscall"
	"time"
)

// Process is the CPU time (user and system) this process has used so far,
// or 0 where it cannot be read.
func Process() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
