// Command linkem is a user-space link emulator: it relays TCP connections
// and UDP datagrams from a listen address to a target, shaping each
// direction (bandwidth, delay, jitter, loss) with package link. The LAN lab
// (testnet/lan) runs it in a namespace between two bridges, where a kernel
// without netem cannot shape the link itself.
//
//	linkem -tcp 10.77.1.254:4001=10.77.0.1:4001 -udp ... \
//	       -up rate=64k,delay=300ms,loss=30% [-down SHAPE] [-every 1s] [-seed N]
//
// It prints "ready" once listening, "bytes up=N down=M" every -every (and
// when it stops, on SIGINT or SIGTERM): the bytes delivered toward the
// targets and back.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/convene/convene/testnet/link"
)

// pairs is a repeatable LISTEN=TARGET flag.
type pairs [][2]string

func (p *pairs) String() string { return fmt.Sprint(*p) }

func (p *pairs) Set(v string) error {
	l, t, ok := strings.Cut(v, "=")
	if !ok || l == "" || t == "" {
		return fmt.Errorf("%q: want LISTEN=TARGET, as host:port=host:port", v)
	}
	*p = append(*p, [2]string{l, t})
	return nil
}

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "linkem: %v\n", err)
		os.Exit(2)
	}
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("linkem", flag.ContinueOnError)
	var tcp, udp pairs
	fs.Var(&tcp, "tcp", "relay TCP from LISTEN to TARGET (repeatable)")
	fs.Var(&udp, "udp", "relay UDP from LISTEN to TARGET (repeatable)")
	upFlag := fs.String("up", "", "shape toward the target: rate=64k,delay=300ms,jitter=20ms,loss=30%")
	downFlag := fs.String("down", "", "shape back from the target (default: as -up)")
	every := fs.Duration("every", 0, "print the byte counts this often (0: only when stopping)")
	seed := fs.Uint64("seed", uint64(time.Now().UnixNano()), "seed of the loss and jitter draws")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if len(tcp)+len(udp) == 0 {
		return fmt.Errorf("nothing to relay: give -tcp or -udp")
	}
	up, err := link.ParseShape(*upFlag)
	if err != nil {
		return fmt.Errorf("-up: %w", err)
	}
	down := up
	if *downFlag != "" {
		if down, err = link.ParseShape(*downFlag); err != nil {
			return fmt.Errorf("-down: %w", err)
		}
	}
	cfg := link.Config{Up: up, Down: down, Counter: new(link.Counter), Seed: *seed}
	var closers []io.Closer
	defer func() {
		for _, c := range closers {
			c.Close()
		}
	}()
	for _, p := range tcp {
		r, err := link.ListenTCP(p[0], p[1], cfg)
		if err != nil {
			return fmt.Errorf("tcp %s: %w", p[0], err)
		}
		closers = append(closers, r)
		fmt.Fprintf(out, "tcp %s -> %s up %s down %s\n", r.Addr(), p[1], up, down)
	}
	for _, p := range udp {
		r, err := link.ListenUDP(p[0], p[1], cfg)
		if err != nil {
			return fmt.Errorf("udp %s: %w", p[0], err)
		}
		closers = append(closers, r)
		fmt.Fprintf(out, "udp %s -> %s up %s down %s\n", r.Addr(), p[1], up, down)
	}
	fmt.Fprintln(out, "ready")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	report := func() {
		u, d := cfg.Counter.Bytes()
		fmt.Fprintf(out, "bytes up=%d down=%d\n", u, d)
	}
	var tick <-chan time.Time
	if *every > 0 {
		t := time.NewTicker(*every)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			report()
			return nil
		case <-tick:
			report()
		}
	}
}
