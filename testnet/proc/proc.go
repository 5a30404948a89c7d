// Package proc starts convene processes and talks to their HTTP API, for
// tests and benchmarks.
package proc

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/convene/convene/web/apiv1"
)

// Build returns the convene binary to run: $CONVENE_BIN when set, or else
// one built (with CGO_ENABLED=0) into dir, so that a test run builds it once
// and every process it starts runs the same code.
func Build(ctx context.Context, dir string) (string, error) {
	if bin := os.Getenv("CONVENE_BIN"); bin != "" {
		abs, err := filepath.Abs(bin)
		if err != nil {
			return "", fmt.Errorf("CONVENE_BIN: %w", err)
		}
		return abs, nil
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	out := filepath.Join(dir, "convene")
	cmd := exec.CommandContext(ctx, goBin, "build", "-o", out, "github.com/convene/convene/cmd/convene")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build convene: %w\n%s", err, b)
	}
	return out, nil
}

// Config says how to start one long-running convene process.
type Config struct {
	// Bin is the convene binary.
	Bin string
	// Args are convene's arguments, starting with the command: run or
	// relay. Start waits for the ui: line of run, the first listen: line
	// of relay.
	Args []string
	// Wrap, if set, is a command that execs convene with its arguments
	// appended, such as `ip netns exec NS`. It must exec rather than fork,
	// so that signals reach convene.
	Wrap []string
	// Data is the data directory, whose api-token the API client sends.
	// Empty for a process without an API (relay).
	Data string
	// Stderr receives the process's standard error; when nil it is kept in
	// memory for Proc.Stderr.
	Stderr io.Writer
	// SysProcAttr, if set, is passed to the process (Pdeathsig, say).
	SysProcAttr *syscall.SysProcAttr
	// Transport, if set, carries the API client's requests (to reach a UI
	// address in another network namespace, say).
	Transport http.RoundTripper
	// Timeout bounds the wait for the address lines; 0 means a minute.
	Timeout time.Duration
}

// Proc is a running convene process.
type Proc struct {
	cmd    *exec.Cmd
	stderr *buffer // nil when Config.Stderr was given
	done   chan struct{}
	err    error // the exit, once done is closed

	// UI is the API's base address (http://HOST:PORT), empty for relay.
	UI string
	// Listen holds the libp2p addresses printed up to the awaited line.
	Listen []string
	// Started is just before exec, Printed when the awaited line came.
	Started, Printed time.Time
	// API is a client of UI with the data directory's token; nil for relay.
	API *apiv1.Client
}

// Start execs convene as cfg says and returns once it printed its address:
// from then on it serves. If it exits first, or prints nothing before
// ctx or cfg.Timeout ends, it is killed and Start returns an error.
func Start(ctx context.Context, cfg Config) (*Proc, error) {
	if len(cfg.Args) == 0 {
		return nil, errors.New("start convene: no command")
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = time.Minute
	}
	argv := append(append(append([]string(nil), cfg.Wrap...), cfg.Bin), cfg.Args...)
	p := &Proc{done: make(chan struct{})}
	p.cmd = exec.Command(argv[0], argv[1:]...)
	p.cmd.SysProcAttr = cfg.SysProcAttr
	if cfg.Stderr != nil {
		p.cmd.Stderr = cfg.Stderr
	} else {
		p.stderr = &buffer{}
		p.cmd.Stderr = p.stderr
	}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("start convene %s: %w", cfg.Args[0], err)
	}
	p.Started = time.Now()
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start convene %s: %w", cfg.Args[0], err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		io.Copy(io.Discard, stdout)
	}()

	relay := cfg.Args[0] == "relay"
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for (relay && len(p.Listen) == 0) || (!relay && p.UI == "") {
		select {
		case l, ok := <-lines:
			if !ok {
				<-p.done
				return nil, fmt.Errorf("convene %s exited before printing its address (%v)%s", cfg.Args[0], p.err, p.stderrTail())
			}
			if u, ok := strings.CutPrefix(l, "ui: "); ok {
				p.UI = strings.TrimRight(u, "/")
			}
			if a, ok := strings.CutPrefix(l, "listen: "); ok {
				p.Listen = append(p.Listen, a)
			}
		case <-timer.C:
			p.Kill()
			return nil, fmt.Errorf("convene %s printed no address in %v%s", cfg.Args[0], timeout, p.stderrTail())
		case <-ctx.Done():
			p.Kill()
			return nil, ctx.Err()
		}
	}
	p.Printed = time.Now()
	// Later lines are not read, but the pipe must not fill up.
	go func() {
		for range lines {
		}
	}()
	if cfg.Data != "" && p.UI != "" {
		tok, err := os.ReadFile(filepath.Join(cfg.Data, "api-token"))
		if err != nil {
			p.Kill()
			return nil, fmt.Errorf("read api-token: %w", err)
		}
		c := &http.Client{Timeout: 30 * time.Second}
		if cfg.Transport != nil {
			c.Transport = cfg.Transport
		}
		p.API = &apiv1.Client{Base: p.UI, Token: strings.TrimSpace(string(tok)), HTTP: c}
	}
	return p, nil
}

// Pid is the process id of convene (the wrapper's, which exec'd it).
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Done is closed when the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// ExitCode is the process's exit code once Done is closed; -1 when a
// signal ended it.
func (p *Proc) ExitCode() int {
	<-p.done
	return p.cmd.ProcessState.ExitCode()
}

// Err is how the process ended (as exec.Cmd.Wait says), once Done is
// closed.
func (p *Proc) Err() error {
	<-p.done
	return p.err
}

// Signal sends sig to the process.
func (p *Proc) Signal(sig os.Signal) error {
	if err := p.cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("signal %v: %w", sig, err)
	}
	return nil
}

// Stop shuts the process down cleanly (SIGTERM) and waits for it to exit,
// killing it after timeout. Stopping an exited process does nothing.
func (p *Proc) Stop(timeout time.Duration) error {
	p.cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-p.done:
		return nil
	case <-t.C:
		p.Kill()
		return fmt.Errorf("convene did not stop in %v after SIGTERM", timeout)
	}
}

// Kill ends the process at once (SIGKILL), as a crash or power loss would,
// and waits for it. Killing an exited process does nothing.
func (p *Proc) Kill() {
	p.cmd.Process.Kill()
	<-p.done
}

// DumpGoroutines has a process that does not answer print its goroutines
// (SIGQUIT, to its standard error) and waits a little for it to exit, to
// show where it hangs.
func (p *Proc) DumpGoroutines() {
	p.cmd.Process.Signal(syscall.SIGQUIT)
	t := time.NewTimer(5 * time.Second)
	defer t.Stop()
	select {
	case <-p.done:
	case <-t.C:
	}
}

// Stderr is what the process wrote to its standard error, when
// Config.Stderr was nil.
func (p *Proc) Stderr() string {
	if p.stderr == nil {
		return ""
	}
	return p.stderr.String()
}

func (p *Proc) stderrTail() string {
	s := p.Stderr()
	if s == "" {
		return ""
	}
	if len(s) > 4000 {
		s = "…" + s[len(s)-4000:]
	}
	return "; stderr:\n" + s
}

// buffer is a bytes.Buffer a process writes while a test reads it.
type buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Run runs a convene command that ends by itself (init, join, status…)
// and returns what it printed. A non-zero exit is an *exec.ExitError.
func Run(ctx context.Context, bin string, args ...string) (stdout, stderr string, err error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	return out.String(), errb.String(), err
}
