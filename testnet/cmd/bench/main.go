// Command bench measures convene's performance budget (DESIGN.md,
// "Performance budget") and writes BENCHMARKS.md: verified ingest against
// raw signature verification, convergence after a partition heals, change
// latency (on a simulated LAN in virtual time plus a laptop's work, and
// between real nodes), start-up with a million operations, and a
// new laptop joining a large gathering, a hub serving 100 gatherings, and
// the field conditions of the LAN
// lab (as root).
//
// It drives real `convene run` processes (bin/convene, built by
// `make build`) on loopback, and calls the node and testnet packages for
// what needs no process. Everything it starts is stopped, and its
// temporary directory removed, when it ends.
//
//	go run ./testnet/cmd/bench [-o BENCHMARKS.md] [-quick] [-only ingest,heal,simheal,simlatency,latency,startup,join,rotation,hub,field]
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"
)

// config is what the flags choose.
type config struct {
	quick bool // smaller sizes, for a smoke run
}

type benchmark struct {
	name string
	run  func(ctx context.Context, l *lab, cfg config) section
}

var benchmarks = []benchmark{
	{"ingest", benchIngest},
	{"heal", benchHeal},
	{"simheal", benchSimHeal},
	{"simlatency", benchSimLatency},
	{"latency", benchLatency},
	{"startup", benchStartup},
	{"join", benchJoin},
	{"rotation", benchRotation},
	{"hub", benchHub},
	{"field", benchField},
}

func main() {
	out := flag.String("o", "", "write the report to this file (default: standard output)")
	quick := flag.Bool("quick", false, "smaller sizes, for a smoke run (the figures are then not the budget's)")
	only := flag.String("only", "", "run only these benchmarks, comma-separated: ingest, heal, simheal, simlatency, latency, startup, join, rotation, hub, field")
	bin := flag.String("bin", "bin/convene", "the convene binary")
	flag.Parse()
	if *healChildFlag != "" {
		if err := healChild(*healChildFlag); err != nil {
			fmt.Fprintf(os.Stderr, "bench: %v\n", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*out, *quick, *only, *bin); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(1)
	}
}

func run(out string, quick bool, only, bin string) error {
	var names []string
	if only != "" {
		names = strings.Split(only, ",")
		for _, n := range names {
			if !slices.ContainsFunc(benchmarks, func(b benchmark) bool { return b.name == n }) {
				return fmt.Errorf("-only: no benchmark %q", n)
			}
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The nodes run in this process too (ingest, heal): keep their logs quiet.
	slog.SetDefault(slog.New(slog.DiscardHandler))

	l, err := newLab(bin)
	if err != nil {
		return err
	}
	defer l.close()

	m := describeMachine()
	cfg := config{quick: quick}
	var secs []section
	for _, b := range benchmarks {
		if names != nil && !slices.Contains(names, b.name) {
			continue
		}
		fmt.Fprintf(os.Stderr, "bench: %s...\n", b.name)
		start := time.Now()
		s := b.run(ctx, l, cfg)
		s.name = b.name
		for _, r := range s.rows {
			fmt.Fprintf(os.Stderr, "bench:   %s: %s (limit %s, ratio %.2f)\n", r.what, r.value, r.limit, r.ratio)
		}
		if s.err != nil {
			fmt.Fprintf(os.Stderr, "bench:   %s: %v\n", b.name, s.err)
		}
		fmt.Fprintf(os.Stderr, "bench: %s took %s\n", b.name, time.Since(start).Round(time.Second))
		secs = append(secs, s)
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	m.loadAfter = loadAvg()
	args := ""
	if out != "" {
		args += " -o " + out
	}
	if quick {
		args += " -quick"
	}
	if only != "" {
		args += " -only " + only
	}
	return writeReport(out, m, args, secs)
}
