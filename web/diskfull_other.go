//go:build plan9 || js || wasip1

package web

// diskFull: these systems have no ENOSPC to find; a full disk is internal.
func diskFull(error) bool { return false }
