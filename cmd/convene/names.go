package main

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
)

// asker asks the person at the terminal for the names a new gathering or
// a join needs, so that nobody ends up "My gathering" or "me" for want of
// knowing the flags. Without a terminal (scripts, services, tests) there
// is nobody to ask and every question takes its default.
type asker struct {
	in  *bufio.Reader
	out io.Writer
}

// ask is the asker for this process; nil when standard input is not a
// terminal.
var ask *asker

// notes receives lines meant for the person at the terminal rather than
// for a script reading standard output (realMain sets it to stderr).
var notes io.Writer = os.Stderr

func stdinAsker() *asker {
	if !term.IsTerminal(int(os.Stdin.Fd())) {
		return nil
	}
	return &asker{in: bufio.NewReader(os.Stdin), out: os.Stderr}
}

// name returns flagValue if it was given, else the answer to question, or
// def when nobody answers (no terminal, an empty line, end of input).
func (a *asker) name(ctx context.Context, flagValue, question, def string) (string, error) {
	if flagValue != "" || a == nil {
		return cmp.Or(flagValue, def), nil
	}
	fmt.Fprintf(a.out, "%s [%s]: ", question, def)
	line := make(chan string, 1)
	go func() {
		s, _ := a.in.ReadString('\n')
		line <- s
	}()
	select {
	case <-ctx.Done():
		fmt.Fprintln(a.out)
		return "", ctx.Err()
	case s := <-line:
		return cmp.Or(strings.TrimSpace(s), def), nil
	}
}
