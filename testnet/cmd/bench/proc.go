package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// lab owns what the benchmarks start: a temporary directory and the
// convene processes, so that one close removes them all, whatever failed.
type lab struct {
	bin string // the convene binary
	tmp string

	mu    sync.Mutex
	procs map[*proc]struct{}
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
	return &lab{bin: abs, tmp: tmp, procs: map[*proc]struct{}{}}, nil
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
	procs := make([]*proc, 0, len(l.procs))
	for p := range l.procs {
		procs = append(procs, p)
	}
	l.mu.Unlock()
	for _, p := range procs {
		p.kill()
	}
	os.RemoveAll(l.tmp)
}

// convene runs a convene command that ends by itself (init, join, invite)
// and returns its standard output.
func (l *lab) convene(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, l.bin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("convene %s: %w: %s", args[0], err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}

// proc is one running `convene run`.
type proc struct {
	lab     *lab
	data    string
	cmd     *exec.Cmd
	stderr  *os.File
	exited  chan struct{}
	started time.Time // just before exec
	printed time.Time // when it printed its UI address
	api     *api
}

// start execs `convene run --data data` on loopback with mDNS off, a free UI
// port and a free TCP port, plus extra flags, and returns once it printed
// its UI address (it serves from then on).
func (l *lab) start(ctx context.Context, data string, extra ...string) (*proc, error) {
	args := append([]string{"run", "--data", data, "--no-mdns", "--ui", "127.0.0.1:0",
		"--listen", "/ip4/127.0.0.1/tcp/0"}, extra...)
	stderr, err := os.Create(data + ".log")
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(l.bin, args...)
	cmd.Stderr = stderr
	// The node dies with the benchmark, even if the benchmark is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		stderr.Close()
		return nil, err
	}
	p := &proc{lab: l, data: data, cmd: cmd, stderr: stderr, exited: make(chan struct{})}
	p.started = time.Now()
	if err := cmd.Start(); err != nil {
		stderr.Close()
		return nil, fmt.Errorf("start convene run: %w", err)
	}
	l.mu.Lock()
	l.procs[p] = struct{}{}
	l.mu.Unlock()
	go func() {
		cmd.Wait()
		stderr.Close()
		close(p.exited)
	}()

	uic := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sent := false
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "ui: "); ok && !sent {
				uic <- u
				sent = true
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	select {
	case u := <-uic:
		p.printed = time.Now()
		tok, err := os.ReadFile(filepath.Join(data, "api-token"))
		if err != nil {
			p.kill()
			return nil, err
		}
		p.api = &api{base: strings.TrimRight(u, "/"), token: strings.TrimSpace(string(tok)),
			c: &http.Client{Timeout: 30 * time.Second}}
		return p, nil
	case <-p.exited:
		return nil, fmt.Errorf("convene run exited at start: %s", p.logTail())
	case <-ctx.Done():
		p.kill()
		return nil, ctx.Err()
	case <-time.After(2 * time.Minute):
		p.kill()
		return nil, fmt.Errorf("convene run printed no UI address in 2 minutes: %s", p.logTail())
	}
}

// logTail is the end of the process's standard error, for error messages.
func (p *proc) logTail() string {
	b, _ := os.ReadFile(p.data + ".log")
	if len(b) > 600 {
		b = b[len(b)-600:]
	}
	return strings.TrimSpace(string(b))
}

// stop shuts the node down cleanly (SIGTERM), killing it after 30 s.
func (p *proc) stop() error {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		p.kill()
		return errors.New("convene run did not stop in 30 s after SIGTERM")
	}
	p.forget()
	return nil
}

// kill ends the node at once (SIGKILL), as a crash or power loss would.
func (p *proc) kill() {
	p.cmd.Process.Kill()
	<-p.exited
	p.forget()
}

func (p *proc) forget() {
	p.lab.mu.Lock()
	delete(p.lab.procs, p)
	p.lab.mu.Unlock()
}

// peakRSS is the process's peak resident set size (VmHWM) in bytes.
func (p *proc) peakRSS() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
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

// api is a client of one node's HTTP API.
type api struct {
	base  string // http://host:port
	token string
	c     *http.Client
}

// get fetches path (from the server root) and decodes the JSON answer into
// out, or returns the raw body when out is nil.
func (a *api) get(ctx context.Context, path string, out any) ([]byte, error) {
	return a.do(ctx, http.MethodGet, path, nil, out)
}

func (a *api) post(ctx context.Context, path string, in, out any) ([]byte, error) {
	return a.do(ctx, http.MethodPost, path, in, out)
}

func (a *api) do(ctx context.Context, method, path string, in, out any) ([]byte, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 {
		return nil, fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(b))
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return nil, fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	return b, nil
}

// status is the part of GET /api/v1/status the benchmarks read.
type status struct {
	Addrs []string `json:"addrs"`
	Peers []struct {
		PeerID string `json:"peer_id"`
	} `json:"peers"`
	Ops    int    `json:"ops"`
	Digest string `json:"digest"`
}

func (a *api) status(ctx context.Context) (status, error) {
	var st status
	_, err := a.get(ctx, "/api/v1/status", &st)
	return st, err
}

// poll calls fn every interval until it returns true or an error, or ctx
// or the deadline ends.
func poll(ctx context.Context, interval, limit time.Duration, fn func() (bool, error)) error {
	deadline := time.Now().Add(limit)
	for {
		ok, err := fn()
		if err != nil || ok {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not done after %s", limit)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(interval):
		}
	}
}
