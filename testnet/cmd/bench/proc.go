package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/convene/convene/internal/wait"
	"github.com/convene/convene/testnet/proc"
)

// lab owns what the benchmarks start: a temporary directory and the
// convene processes, so that one close removes them all, whatever failed.
type lab struct {
	bin string // the convene binary
	tmp string

	mu    sync.Mutex
	procs []*proc.Proc // every process started; killing an ended one does nothing
	n     int
}

func newLab(bin string) (*lab, error) {
	abs, err := filepath.Abs(bin)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(abs); err != nil {
		return nil, fmt.Errorf("the convene binary (run make build first): %w", err)
	}
	tmp, err := os.MkdirTemp("", "convene-bench-")
	if err != nil {
		return nil, err
	}
	return &lab{bin: abs, tmp: tmp}, nil
}

// dir returns a new, not yet existing, path under the lab's directory.
func (l *lab) dir(name string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n++
	return filepath.Join(l.tmp, fmt.Sprintf("%s-%d", name, l.n))
}

// close kills every process still running and removes the directory.
func (l *lab) close() {
	l.mu.Lock()
	procs := l.procs
	l.procs = nil
	l.mu.Unlock()
	for _, p := range procs {
		p.Kill()
	}
	// CONVENE_BENCH_KEEP=1 keeps the data directories, to profile or
	// time a start again by hand without generating them anew.
	if os.Getenv("CONVENE_BENCH_KEEP") != "" {
		fmt.Fprintf(os.Stderr, "bench: kept %s\n", l.tmp)
		return
	}
	os.RemoveAll(l.tmp)
}

// convene runs a convene command that ends by itself (init, join, invite)
// and returns its standard output.
func (l *lab) convene(ctx context.Context, args ...string) (string, error) {
	out, stderr, err := proc.Run(ctx, l.bin, args...)
	if err != nil {
		return "", fmt.Errorf("convene %s: %w: %s", args[0], err, strings.TrimSpace(stderr))
	}
	return out, nil
}

// start execs `convene run --data data` on loopback with mDNS off, a free UI
// port and a free TCP port, plus extra flags, and returns once it printed
// its UI address (it serves from then on). Its standard error goes to
// data.log.
func (l *lab) start(ctx context.Context, data string, extra ...string) (*proc.Proc, error) {
	stderr, err := os.Create(data + ".log")
	if err != nil {
		return nil, err
	}
	defer stderr.Close() // the process has its own copy
	p, err := proc.Start(ctx, proc.Config{
		Bin: l.bin,
		Args: append([]string{"run", "--data", data, "--no-mdns", "--ui", "127.0.0.1:0",
			"--listen", "/ip4/127.0.0.1/tcp/0"}, extra...),
		Data:   data,
		Stderr: stderr,
		// The node dies with the benchmark, even if the benchmark is killed.
		SysProcAttr: dieWithParent(),
		Timeout:     2 * time.Minute,
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %s", err, logTail(data))
	}
	l.mu.Lock()
	l.procs = append(l.procs, p)
	l.mu.Unlock()
	return p, nil
}

// logTail is the end of a process's standard error, for error messages.
func logTail(data string) string {
	b, _ := os.ReadFile(data + ".log")
	if len(b) > 600 {
		b = b[len(b)-600:]
	}
	return strings.TrimSpace(string(b))
}

// stopTimeout is how long a node has to shut down after SIGTERM.
const stopTimeout = 30 * time.Second

// peakRSS is the process's peak resident set size (VmHWM) in bytes.
func peakRSS(p *proc.Proc) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.Pid()))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmHWM in /proc/PID/status")
}

// poll calls fn every interval until it returns true or an error, or ctx
// or the deadline ends.
func poll(ctx context.Context, interval, limit time.Duration, fn func() (bool, error)) error {
	return wait.Until(ctx, limit, interval, interval, func() (bool, string, error) {
		ok, err := fn()
		return ok, "", err
	})
}
