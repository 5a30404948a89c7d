//go:build !linux

package main

import "syscall"

// dieWithParent returns nil: only Linux can tie a child's life to its
// parent's. Elsewhere lab.close and the context's cancel end the children,
// and a killed benchmark may leave them running.
func dieWithParent() *syscall.SysProcAttr { return nil }
