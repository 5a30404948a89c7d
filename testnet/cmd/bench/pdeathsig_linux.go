package main

import "syscall"

// dieWithParent makes a child process die when the benchmark does, even if
// the benchmark is killed: Linux delivers SIGKILL to it then.
func dieWithParent() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
