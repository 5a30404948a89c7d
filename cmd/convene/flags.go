package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	ma "github.com/multiformats/go-multiaddr"
)

// newFlags returns a flag set that reports mistakes as usage errors rather
// than printing and exiting, with the --data flag every command takes.
func newFlags(name string) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	data := fs.String("data", defaultDataDir(), "data directory")
	return fs, data
}

// parse parses args and turns flag errors into usage errors.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			fmt.Fprint(notes, "usage:\n"+commandUsage(fs.Name()))
			fs.SetOutput(notes)
			fs.PrintDefaults()
			return err
		}
		return usageError{err.Error()}
	}
	return nil
}

// commandUsage is the part of the usage text about one command: its line
// and the lines that continue it, which name its positional arguments
// (FILE, INVITE) that the flag list cannot show.
func commandUsage(name string) string {
	var b strings.Builder
	in := false
	for _, l := range strings.SplitAfter(usage, "\n") {
		switch f := strings.Fields(l); {
		case len(f) >= 2 && f[0] == "convene":
			in = f[1] == name
		case len(f) == 0 || !strings.HasPrefix(l, "    "):
			in = false
		}
		if in {
			b.WriteString(l)
		}
	}
	return b.String()
}

// defaultDataDir is $XDG_DATA_HOME/convene, or ~/.local/share/convene.
func defaultDataDir() string {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "convene")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "share", "convene")
	}
	return "convene-data"
}

// addrList is a repeatable multiaddr flag, validated as it is parsed.
type addrList []ma.Multiaddr

func (l *addrList) String() string {
	s := make([]string, len(*l))
	for i, a := range *l {
		s[i] = a.String()
	}
	return strings.Join(s, ",")
}

func (l *addrList) Set(v string) error {
	a, err := ma.NewMultiaddr(v)
	if err != nil {
		return fmt.Errorf("not a multiaddr: %q", v)
	}
	*l = append(*l, a)
	return nil
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// noArgs refuses stray positional arguments.
func noArgs(fs *flag.FlagSet) error {
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	return nil
}
