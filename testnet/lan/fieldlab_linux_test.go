package lan

// Helpers of the field-condition scenarios: their figures, a link emulator
// (testnet/cmd/linkem) in a namespace between two bridges, hosts on other
// subnets, and what GET /status says about peers and the clock.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// figuresEnv names a file to which each scenario appends its figure as a
// JSON line (the bench's "Field conditions" section reads it); figures are
// logged in any case.
const figuresEnv = "CONVENE_FIELD_FIGURES"

// Figure is one scenario's measurement, as the bench reads it.
type Figure struct {
	Name    string  `json:"name"`
	Seconds float64 `json:"seconds"`
	Bytes   int64   `json:"bytes,omitempty"`
	Note    string  `json:"note"`
}

var figureMu sync.Mutex

// figure logs a scenario's figure and appends it to $CONVENE_FIELD_FIGURES.
func figure(t *testing.T, name string, took time.Duration, bytes int64, note string) {
	t.Helper()
	t.Logf("field: %s: %v (%d B): %s", name, took.Round(10*time.Millisecond), bytes, note)
	path := os.Getenv(figuresEnv)
	if path == "" {
		return
	}
	line, err := json.Marshal(Figure{Name: name, Seconds: took.Seconds(), Bytes: bytes, Note: note})
	if err != nil {
		t.Fatal(err)
	}
	figureMu.Lock()
	defer figureMu.Unlock()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatalf("%s: %v", figuresEnv, err)
	}
	defer f.Close()
	if _, err := f.Write(append(line, '\n')); err != nil {
		t.Fatalf("%s: %v", figuresEnv, err)
	}
}

// portCount numbers the bridge ports iface makes, for unique names.
var portCount atomic.Int32

// iface plugs a new interface of namespace ns, at cidr, into bridge br.
func (l *lab) iface(ns, name, br, cidr string) {
	l.t.Helper()
	port := fmt.Sprintf("q%d", portCount.Add(1))
	l.ip("-n", ns, "link", "add", name, "type", "veth", "peer", "name", port, "netns", l.bridge)
	l.ip("-n", ns, "addr", "add", cidr, "dev", name)
	l.ip("-n", ns, "link", "set", name, "up")
	l.ip("-n", l.bridge, "link", "set", port, "master", br, "up")
}

// subnetHost makes a host at addr/24 on bridge br, for subnets other than
// addHost's 10.77.0.0/24.
func (l *lab) subnetHost(name, br, addr string) *host {
	l.t.Helper()
	h := &host{lab: l, ns: l.netns(name), addr: addr}
	l.iface(h.ns, "eth0", br, addr+"/24")
	return h
}

// linkem is a link emulator running in a namespace.
type linkem struct {
	cmd *exec.Cmd
	mu  sync.Mutex
	up  int64
	dn  int64
	out bytes.Buffer
}

// startLinkem runs linkem in ns with args (plus -every), waits until it is
// ready, and stops it when the test ends.
func startLinkem(t *testing.T, ns string, args ...string) *linkem {
	t.Helper()
	le := &linkem{}
	argv := append([]string{"netns", "exec", ns, theEnv.linkem, "-every", "200ms"}, args...)
	le.cmd = exec.Command("ip", argv...)
	// No Pdeathsig: it fires when the forking thread ends, and the lab's
	// dialers end their threads (see host.dialer). sweepStale kills what a
	// crashed run leaves in its namespaces.
	stdout, err := le.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	le.cmd.Stderr = &stderr
	if err := le.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		once := sync.OnceFunc(func() { close(ready) })
		defer once()
		for sc.Scan() {
			line := sc.Text()
			le.mu.Lock()
			le.out.WriteString(line + "\n")
			if rest, ok := strings.CutPrefix(line, "bytes "); ok {
				for _, kv := range strings.Fields(rest) {
					k, v, _ := strings.Cut(kv, "=")
					n, _ := strconv.ParseInt(v, 10, 64)
					if k == "up" {
						le.up = n
					} else {
						le.dn = n
					}
				}
			}
			le.mu.Unlock()
			if line == "ready" {
				once()
			}
		}
	}()
	t.Cleanup(func() {
		le.cmd.Process.Signal(syscall.SIGTERM)
		le.cmd.Wait()
		if t.Failed() {
			t.Logf("linkem in %s:\n%s%s", ns, le.output(), stderr.String())
		}
	})
	select {
	case <-ready:
	case <-time.After(30 * time.Second):
		t.Fatalf("linkem in %s did not start: %s", ns, stderr.String())
	}
	if le.cmd.ProcessState != nil {
		t.Fatalf("linkem in %s exited: %s", ns, stderr.String())
	}
	return le
}

func (le *linkem) output() string {
	le.mu.Lock()
	defer le.mu.Unlock()
	return le.out.String()
}

// bytes is what linkem last reported delivered, both ways.
func (le *linkem) bytes() int64 {
	le.mu.Lock()
	defer le.mu.Unlock()
	return le.up + le.dn
}

// peerState is a peer as GET /status lists it, with its liveness.
type peerState struct {
	PeerID string `json:"peer_id"`
	State  string `json:"state"`
	Via    string `json:"via"`
}

// fullStatus is the part of GET /status the field scenarios read.
type fullStatus struct {
	Ops   int         `json:"ops"`
	Peers []peerState `json:"peers"`
	Clock struct {
		OffsetMS int64  `json:"offset_ms"`
		Peers    int    `json:"peers"`
		Warning  bool   `json:"warning"`
		Message  string `json:"message"`
	} `json:"clock"`
}

func (n *node) fullStatus() fullStatus {
	n.t.Helper()
	var st fullStatus
	n.call("GET", "/status", nil, 200, &st)
	return st
}

// hasSession reports whether n shows session sid.
func (n *node) hasSession(sid string) bool {
	n.t.Helper()
	code, _, err := n.API.Do(context.Background(), "GET", "/api/v1/sessions/"+sid, nil)
	if err != nil {
		n.t.Fatalf("%s: %v", n.name, err)
	}
	return code == 200
}

// waitSession waits until every node shows session sid and returns how
// long that took from since.
func waitSession(t *testing.T, sid string, since time.Time, nodes ...*node) time.Duration {
	t.Helper()
	eventually(t, "session "+sid+" everywhere", func() (bool, string) {
		var missing []string
		for _, n := range nodes {
			if !n.hasSession(sid) {
				missing = append(missing, n.name)
			}
		}
		return len(missing) == 0, "missing on " + strings.Join(missing, ", ")
	})
	return time.Since(since)
}
