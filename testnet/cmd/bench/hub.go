package main

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/multiformats/go-multiaddr"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/testnet"
	"github.com/convene/convene/testnet/proc"
)

// hubLimit bounds the hub run: 500 laptops that do not converge must not
// hold up the benchmarks after it.
const hubLimit = 10 * time.Minute

// benchHub measures a hub's capacity (issue 11 item 6): a real `convene
// relay` process serving 100 gatherings of 5 laptops each, the laptops
// real nodes (in-memory stores, real libp2p hosts) in this process that
// reach each other only through the hub (testnet.HubCapacity). The hub's
// memory, CPU, threads and descriptors are read from /proc; its bytes are
// counted on the laptops' side of their connections to it.
func benchHub(ctx context.Context, l *lab, cfg config) section {
	sec := section{title: "A hub's capacity: 100 gatherings, 500 laptops"}
	gatherings, laptops, ops := 100, 5, 5
	if cfg.quick {
		gatherings, laptops, ops = 10, 5, 5
	}
	// CONVENE_HUB=G,L,O sizes a run by hand, to find where a machine's
	// limit lies between the quick size and the issue's.
	if v := os.Getenv("CONVENE_HUB"); v != "" {
		if _, err := fmt.Sscanf(v, "%d,%d,%d", &gatherings, &laptops, &ops); err != nil {
			sec.err = fmt.Errorf("CONVENE_HUB=%q: want G,L,O: %w", v, err)
			return sec
		}
	}
	ctx, cancel := context.WithTimeout(ctx, hubLimit)
	defer cancel()
	dir := l.dir("hub")
	var hub *proc.Proc
	var cpuAtWrite time.Duration
	var m struct { // the hub when every laptop has converged
		cpu        time.Duration
		rss        int64
		fds        int
		threads    string
		cerr, rerr error
	}
	start := time.Now()
	res, err := testnet.HubCapacity(ctx, testnet.HubCapOptions{
		Gatherings: gatherings, Laptops: laptops, Ops: ops, Dir: dir,
		StartHub: func(ctx context.Context, tickets []crdt.Ticket) (multiaddr.Multiaddr, error) {
			data := filepath.Join(dir, "relay")
			if err := os.MkdirAll(data, 0o700); err != nil {
				return nil, err
			}
			args := []string{"relay", "--data", data, "--no-mdns", "--listen", "/ip4/127.0.0.1/tcp/0"}
			for _, t := range tickets {
				args = append(args, "--gathering", t.String())
			}
			stderr, err := os.Create(data + ".log")
			if err != nil {
				return nil, err
			}
			defer stderr.Close()
			p, err := proc.Start(ctx, proc.Config{Bin: l.bin, Args: args, Stderr: stderr, SysProcAttr: dieWithParent(), Timeout: time.Minute})
			if err != nil {
				return nil, err
			}
			l.mu.Lock()
			l.procs = append(l.procs, p)
			l.mu.Unlock()
			hub = p
			return multiaddr.NewMultiaddr(p.Listen[0])
		},
		Writing: func() { cpuAtWrite, _ = procCPU(hub.Pid()) },
		Progress: func(p string) {
			fmt.Fprintf(os.Stderr, "bench:   hub: %s (%s)\n", p, time.Since(start).Round(time.Second))
		},
		Converged: func() {
			// Everything is read with every connection still up; the
			// goroutine dump (SIGQUIT) then ends the hub.
			m.cpu, m.cerr = procCPU(hub.Pid())
			m.rss, m.rerr = peakRSS(hub)
			fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", hub.Pid()))
			m.fds = len(fds)
			m.threads = procStatus(hub.Pid(), "Threads:")
			hub.DumpGoroutines()
		},
	})
	took := time.Since(start)
	if hub != nil {
		hub.Kill()
	}
	if err != nil {
		sec.err = fmt.Errorf("hub capacity: %w", err)
		return sec
	}
	if m.cerr != nil || m.rerr != nil {
		sec.err = fmt.Errorf("hub capacity: read /proc: %v, %v", m.cerr, m.rerr)
		return sec
	}
	g := float64(gatherings)
	n := gatherings * laptops
	writeCPU := m.cpu - cpuAtWrite
	sec.rows = append(sec.rows, row{budget: "hub",
		what:  fmt.Sprintf("one `convene relay`, %d gatherings × %d laptops, %d ops each", gatherings, laptops, ops),
		value: fmt.Sprintf("%s peak RSS (%s per gathering), %.1f s CPU, %s in + %s out; converged %s after the first write", mb(m.rss), mb(int64(float64(m.rss)/g)), m.cpu.Seconds(), mb(res.BytesIn), mb(res.BytesOut), ms(res.Converge)),
		limit: published, ratio: 0})
	sec.details = append(sec.details,
		fmt.Sprintf("`testnet.HubCapacity`: %d gatherings of %d laptops; each laptop is a real node (in-memory store) with a real libp2p host in the benchmark's process, whose gater admits only the hub, so every operation goes laptop → hub (door, signatures, one synced store write) → the gathering's other laptops, by GossipSub or reconciliation. Each gathering starts with a session and a group and a proposal per laptop; once every laptop has reconciled with the hub, each writes %d operations (comments and revisions, 8 laptops writing at a time), %d in all. The hub is `bin/convene relay` in its own process (so /proc describes it alone) on loopback, sharing the machine's cores with the %d laptops.", gatherings, laptops, ops, res.Ops, n),
		fmt.Sprintf("Bytes are stream payload counted by the laptops' libp2p bandwidth counters for the hub's peer id (the laptops' out is the hub's in); Noise/TLS and yamux framing are not counted. The run took %s.", took.Round(time.Second)),
	)
	sec.misses = append(sec.misses,
		"| figure | the hub | per gathering |\n|---|---|---|\n"+
			fmt.Sprintf("| peak resident memory (VmHWM) | %s | %s |\n", mb(m.rss), mb(int64(float64(m.rss)/g)))+
			fmt.Sprintf("| CPU: start, and %d laptops connecting and reconciling | %.1f s | %.0f ms |\n", n, cpuAtWrite.Seconds(), cpuAtWrite.Seconds()*1000/g)+
			fmt.Sprintf("| CPU: first write → converged | %.1f s | %.0f ms (%.0f µs per operation written) |\n", writeCPU.Seconds(), writeCPU.Seconds()*1000/g, writeCPU.Seconds()*1e6/float64(res.Ops))+
			fmt.Sprintf("| bytes in: first write → converged | %s | %s |\n", mb(res.BytesIn), kb(float64(res.BytesIn)/g))+
			fmt.Sprintf("| bytes out: first write → converged | %s | %s |\n", mb(res.BytesOut), kb(float64(res.BytesOut)/g))+
			fmt.Sprintf("| first write → every laptop of every gathering converged | %s | |\n", ms(res.Converge))+
			fmt.Sprintf("| open file descriptors, converged | %d (%.2f per laptop) | |\n", m.fds, float64(m.fds)/float64(n))+
			fmt.Sprintf("| OS threads, converged | %s | |", m.threads))
	sec.misses = append(sec.misses, goroutineProfile(filepath.Join(dir, "relay.log"), n))
	return sec
}

// goroutineProfile summarizes the hub's goroutine dump (its SIGQUIT
// traceback in its log): how many there were, per laptop, and which
// functions started most of them.
func goroutineProfile(logFile string, laptops int) string {
	b, err := os.ReadFile(logFile)
	if err != nil {
		return fmt.Sprintf("The hub's goroutines: %v", err)
	}
	total := 0
	by := map[string]int{}
	for line := range strings.SplitSeq(string(b), "\n") {
		if strings.HasPrefix(line, "goroutine ") && strings.HasSuffix(line, ":") {
			total++
		}
		if f, ok := strings.CutPrefix(line, "created by "); ok {
			f, _, _ = strings.Cut(f, " in goroutine")
			by[f]++
		}
	}
	if total == 0 {
		return "The hub's goroutines: no dump in its log."
	}
	type fn struct {
		name string
		n    int
	}
	var fns []fn
	for k, v := range by {
		fns = append(fns, fn{k, v})
	}
	slices.SortFunc(fns, func(a, b fn) int { return cmp.Or(b.n-a.n, strings.Compare(a.name, b.name)) })
	var t strings.Builder
	fmt.Fprintf(&t, "The hub's goroutines when every laptop had converged (its SIGQUIT dump): %d, %.1f per laptop connected; by the function that started them:\n\n| goroutines | per laptop | started by |\n|---|---|---|\n", total, float64(total)/float64(laptops))
	for _, f := range fns[:min(10, len(fns))] {
		fmt.Fprintf(&t, "| %d | %.2f | `%s` |\n", f.n, float64(f.n)/float64(laptops), f.name)
	}
	return strings.TrimRight(t.String(), "\n")
}

func kb(n float64) string { return fmt.Sprintf("%.1f kB", n/1000) }

// procCPU is a process's user and system CPU time so far, from
// /proc/PID/stat (fields 14 and 15, in clock ticks of 1/100 s on Linux).
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name, field 2, may hold spaces: count from its ')'.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	var ticks int64
	for _, v := range f[11:13] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, err
		}
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond, nil
}

// procStatus is one field of /proc/PID/status, or "?".
func procStatus(pid int, field string) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "?"
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field); ok {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}
