package main

// Test helpers: the tests of this package build the real binary once and
// drive real `convene` processes through their command line and HTTP API.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/convene/convene/testnet/proc"
	"github.com/convene/convene/web/apiv1"
)

// conveneBin is the binary built by TestMain for this test run.
var conveneBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "convene-cmd-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	conveneBin, err = proc.Build(context.Background(), dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// convergeTimeout bounds every wait for something asynchronous (a process
// starting, peers converging). It is generous: the tests poll, so a fast
// machine does not wait for it.
const convergeTimeout = 90 * time.Second

// cliResult is what a finished command printed and how it exited.
type cliResult struct {
	stdout, stderr string
	code           int
}

// cli runs one convene command to completion.
func cli(t *testing.T, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), convergeTimeout)
	defer cancel()
	stdout, stderr, err := proc.Run(ctx, conveneBin, args...)
	res := cliResult{stdout: stdout, stderr: stderr}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		res.code = ee.ExitCode()
	default:
		t.Fatalf("convene %s: %v", strings.Join(args, " "), err)
	}
	return res
}

// cliOK runs a command that must succeed and returns its standard output.
func cliOK(t *testing.T, args ...string) string {
	t.Helper()
	r := cli(t, args...)
	if r.code != 0 {
		t.Fatalf("convene %s: exit %d, stderr: %s", strings.Join(args, " "), r.code, r.stderr)
	}
	return r.stdout
}

// initGathering makes a gathering in a new directory and returns the
// directory and its invite.
func initGathering(t *testing.T, name string) (dir, invite string) {
	t.Helper()
	dir = t.TempDir()
	out := cliOK(t, "init", "--data", dir, "--name", name)
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "convene:") {
			return dir, l
		}
	}
	t.Fatalf("convene init printed no invite:\n%s", out)
	return "", ""
}

// running is a running `convene run`.
type running struct {
	*proc.Proc
	t   *testing.T
	dir string
}

// startNode starts `convene run --data dir --ui 127.0.0.1:0 args...` and
// waits for it to print its UI address. The process is killed when the
// test ends if it still runs.
func startNode(t *testing.T, dir string, args ...string) *running {
	t.Helper()
	p, err := proc.Start(context.Background(), proc.Config{
		Bin:     conveneBin,
		Args:    append([]string{"run", "--data", dir, "--ui", "127.0.0.1:0"}, args...),
		Data:    dir,
		Timeout: convergeTimeout,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			t.Logf("stderr of convene run --data %s:\n%s", dir, p.Stderr())
		}
	})
	// Other commands can find the node as soon as it announces itself.
	if _, err := os.Stat(filepath.Join(dir, "run.json")); err != nil {
		t.Fatalf("convene run printed its UI address before writing its run file: %v", err)
	}
	return &running{Proc: p, t: t, dir: dir}
}

// signal sends sig and waits for the process to exit, returning its exit
// code.
func (p *running) signal(sig syscall.Signal) int {
	p.t.Helper()
	if err := p.Signal(sig); err != nil {
		p.t.Fatal(err)
	}
	select {
	case <-p.Done():
	case <-time.After(convergeTimeout):
		p.t.Fatalf("convene run did not exit after %v", sig)
	}
	return p.ExitCode()
}

// reqOpt changes a request before it is sent.
type reqOpt = apiv1.RequestOption

func noAuth(r *http.Request)   { r.Header.Del("Authorization") }
func withHost(h string) reqOpt { return func(r *http.Request) { r.Host = h } }
func withToken(tok string) reqOpt {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
}
func withType(ct string) reqOpt        { return func(r *http.Request) { r.Header.Set("Content-Type", ct) } }
func rawBody(s string) json.RawMessage { return json.RawMessage(s) }

// do sends a request to the node's API (path below /api/v1) with the API
// token and returns the status and body. A json.RawMessage body is sent as
// is, anything else is encoded as JSON.
func (p *running) do(method, path string, body any, opts ...reqOpt) (int, []byte) {
	t := p.t
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code, b, err := p.API.Do(ctx, method, "/api/v1"+path, body, opts...)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			p.DumpGoroutines()
		}
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return code, b
}

// call sends a request that must answer want, decoding the answer into out
// when out is not nil.
func (p *running) call(method, path string, body any, want int, out any) {
	p.t.Helper()
	code, b := p.do(method, path, body)
	if code != want {
		p.t.Fatalf("%s %s: status %d, want %d: %s", method, path, code, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			p.t.Fatalf("%s %s: decode %s: %v", method, path, b, err)
		}
	}
}

func (p *running) status() apiv1.Status {
	p.t.Helper()
	var st apiv1.Status
	p.call("GET", "/status", nil, 200, &st)
	return st
}

// document is a session's document as the API serves it.
type document struct {
	Session struct {
		ID  string `json:"id"`
		Cap int    `json:"cap"`
	} `json:"session"`
	Proposals []proposal `json:"proposals"`
	Waiting   []struct {
		ID string `json:"id"`
	} `json:"waiting"`
}

type proposal struct {
	ID           string   `json:"id"`
	Rank         int      `json:"rank"`
	Text         string   `json:"text"`
	Revision     string   `json:"revision"`
	Group        string   `json:"group"`
	Endorsements int      `json:"endorsements"`
	EndorsedBy   []string `json:"endorsed_by"`
	Conflict     bool     `json:"conflict"`
	Heads        []string `json:"heads"`
	Revisions    int      `json:"revisions"`
}

// documentJSON returns a session's document without its freshness, as
// canonical JSON for comparison.
func (p *running) documentJSON(sid string) string {
	p.t.Helper()
	doc, err := proc.DocumentJSON(context.Background(), p.API, sid)
	if err != nil {
		p.t.Fatal(err)
	}
	return doc
}

func (p *running) document(sid string) document {
	p.t.Helper()
	var doc document
	p.call("GET", "/sessions/"+sid+"/document", nil, 200, &doc)
	return doc
}

// eventually polls cond until it holds, for at most convergeTimeout.
func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	proc.Eventually(t, convergeTimeout, what, cond)
}

// apiError is the body of an error answer.
type apiError struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

func errorCode(t *testing.T, b []byte) string {
	t.Helper()
	var e apiError
	if err := json.Unmarshal(b, &e); err != nil || e.Error == "" {
		t.Fatalf("error answer is not {\"error\",\"message\"}: %s", b)
	}
	return e.Error
}
