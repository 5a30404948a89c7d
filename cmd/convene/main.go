// Command convene runs a convene node and manages its data directory.
//
// See README.md and docs/API.md; the interface is the product spec's
// API.md, "Command line".
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

// Exit statuses, as API.md specifies.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

const usage = `usage:
  convene init   --data DIR --name NAME [--identity NAME]
  convene join   --data DIR [--identity NAME] INVITE
  convene invite --data DIR [--qr]
  convene run    --data DIR [--name NAME] [--identity NAME] [--ui ADDR] [--ui-public ADDR] [--listen MULTIADDR]...
                 [--peer MULTIADDR]... [--hub MULTIADDR]... [--no-mdns]
  convene relay  --data DIR --listen MULTIADDR... --gathering TICKET...
  convene export --data DIR --format json|csv|ics|md|activitystreams|bundle [--session ID]
                 [--csv proposals|endorsements[,raw][,bom]] [--since RFC3339-TIME] [-o FILE]
                 [--lang en|es|fr|pt] (with md: the document in that language)
  convene export --data DIR --format ratified --session ID [-o FILE]
  convene import --data DIR FILE
  convene verify FILE
  convene merge  --data DIR --session ID FILE
  convene status --data DIR
  convene --version
`

// version is this build's version; a release build sets it with
// -ldflags "-X main.version=…".
var version = "0.1.0-dev"

// versionLine is what --version prints: the version, and the commit and Go
// release it was built from where the build recorded them.
func versionLine() string {
	s := "convene " + version
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, kv := range bi.Settings {
			if kv.Key == "vcs.revision" && len(kv.Value) >= 12 {
				s += " (" + kv.Value[:12] + ")"
			}
		}
		s += " " + bi.GoVersion
	}
	return s
}

// usageError marks a command-line mistake (exit status 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return usageError{fmt.Sprintf(format, args...)}
}

type command func(ctx context.Context, args []string, stdout io.Writer) error

func commands() map[string]command {
	return map[string]command{
		"init":   cmdInit,
		"join":   cmdJoin,
		"invite": cmdInvite,
		"run":    cmdRun,
		"relay":  cmdRelay,
		"export": cmdExport,
		"import": cmdImport,
		"verify": cmdVerify,
		"merge":  cmdMerge,
		"status": cmdStatus,
	}
}

func main() {
	ask = stdinAsker()
	os.Exit(realMain(os.Args[1:], os.Stdout, os.Stderr))
}

func realMain(args []string, stdout, stderr io.Writer) int {
	notes = stderr
	if len(args) == 1 && (args[0] == "--version" || args[0] == "-version") {
		fmt.Fprintln(stdout, versionLine())
		return exitOK
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, usage)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	cmd, ok := commands()[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "convene: unknown command %q (try: convene help)\n", args[0])
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := cmd(ctx, args[1:], stdout)
	var ue usageError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "convene %s: %s\n", args[0], ue.msg)
		return exitUsage
	default:
		fmt.Fprintf(stderr, "convene %s: %s\n", args[0], oneLine(err.Error()))
		return exitFailure
	}
}

func oneLine(s string) string {
	out := []rune{}
	for _, r := range s {
		if r == '\n' || r == '\r' {
			r = ' '
		}
		out = append(out, r)
	}
	return string(out)
}
