package lan

// Test helpers: a lab of network namespaces on a bridge, and convene
// processes started inside them.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/convene/convene/internal/testkit"
	"github.com/convene/convene/testnet/proc"
)

// env is what TestMain found out about this machine.
type env struct {
	skip   string // why the lab cannot run here, if it cannot
	bin    string // the convene binary
	linkem string // the link emulator, testnet/cmd/linkem
}

// theEnv is set once by TestMain before any test runs.
var theEnv env

// labCount numbers labs within this process, for unique names.
var labCount atomic.Int32

func TestMain(m *testing.M) {
	if spec := os.Getenv(outsiderEnv); spec != "" {
		os.Exit(runOutsider(spec))
	}
	var cleanup func()
	theEnv, cleanup = setUp()
	code := m.Run()
	cleanup()
	os.Exit(code)
}

// setUp checks that namespaces can be made here and builds the binary
// (or takes $CONVENE_BIN).
func setUp() (env, func()) {
	nothing := func() {}
	if os.Geteuid() != 0 {
		return env{skip: "the LAN testnet needs root (network namespaces); run `sudo make testnet-lan`"}, nothing
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return env{skip: "the LAN testnet needs the ip command (iproute2)"}, nothing
	}
	sweepStale()
	probe := fmt.Sprintf("cvlan%d-probe", os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", probe).CombinedOutput(); err != nil {
		return env{skip: fmt.Sprintf("cannot create a network namespace here (%v: %s)", err, bytes.TrimSpace(out))}, nothing
	}
	exec.Command("ip", "netns", "del", probe).Run()
	dir, err := os.MkdirTemp("", "convene-lan-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin, err := proc.Build(context.Background(), dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	linkem, err := buildLinkem(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	return env{bin: bin, linkem: linkem}, func() { os.RemoveAll(dir) }
}

// buildLinkem builds testnet/cmd/linkem into dir (or takes $LINKEM_BIN).
func buildLinkem(dir string) (string, error) {
	if bin := os.Getenv("LINKEM_BIN"); bin != "" {
		return filepath.Abs(bin)
	}
	out := filepath.Join(dir, "linkem")
	cmd := exec.Command("go", "build", "-o", out, "github.com/convene/convene/testnet/cmd/linkem")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build linkem: %w\n%s", err, b)
	}
	return out, nil
}

// sweepStale deletes the namespaces of earlier runs of this suite whose
// process is gone (a panic or a kill skips cleanups), with the processes
// left in them. Only names this suite makes are touched.
func sweepStale() {
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(out), "\n") {
		ns, _, _ := strings.Cut(line, " ")
		rest, ok := strings.CutPrefix(ns, "cvlan")
		if !ok {
			continue
		}
		pidStr, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidStr)
		if err != nil || pid == os.Getpid() || syscall.Kill(pid, 0) == nil {
			continue
		}
		if pids, err := exec.Command("ip", "netns", "pids", ns).Output(); err == nil {
			for _, f := range strings.Fields(string(pids)) {
				if p, err := strconv.Atoi(f); err == nil {
					syscall.Kill(p, syscall.SIGKILL)
				}
			}
		}
		exec.Command("ip", "netns", "del", ns).Run()
	}
}

// convergeTimeout bounds every wait; the tests poll, so it is only reached
// when something is broken.
const convergeTimeout = 60 * time.Second

// lab is a set of namespaces: one holding the bridge(s), one per host.
type lab struct {
	t      *testing.T
	prefix string
	bridge string // the namespace holding the bridges
}

// newLab makes the bridge namespace with one bridge, br0. Everything the
// lab makes is deleted when the test ends, whether it passes or not.
func newLab(t *testing.T) *lab {
	t.Helper()
	if theEnv.skip != "" {
		t.Skip(theEnv.skip)
	}
	l := &lab{t: t, prefix: fmt.Sprintf("cvlan%d-%d", os.Getpid(), labCount.Add(1))}
	l.bridge = l.netns("sw")
	l.addBridge("br0")
	return l
}

// ip runs an ip (or other) command and fails the test if it fails.
func (l *lab) ip(args ...string) {
	l.t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		l.t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
}

// netns makes a namespace with loopback up (and multicast on it, as mDNS
// libraries expect of an interface they use) and returns its name.
func (l *lab) netns(name string) string {
	l.t.Helper()
	ns := l.prefix + "-" + name
	l.ip("netns", "add", ns)
	l.t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
			l.t.Errorf("delete namespace %s: %v: %s", ns, err, out)
		}
	})
	l.ip("-n", ns, "link", "set", "lo", "up")
	l.ip("-n", ns, "link", "set", "lo", "multicast", "on")
	return ns
}

// addBridge makes a bridge in the bridge namespace. Multicast snooping is
// off so that mDNS floods like on a plain switch.
func (l *lab) addBridge(name string) {
	l.t.Helper()
	l.ip("-n", l.bridge, "link", "add", name, "type", "bridge", "mcast_snooping", "0")
	l.ip("-n", l.bridge, "link", "set", name, "up")
}

// trunk joins two bridges by a veth pair named after them, so that taking
// the pair down splits the LAN into islands.
func (l *lab) trunk(a, b string) string {
	l.t.Helper()
	ta, tb := "t-"+a, "t-"+b
	l.ip("-n", l.bridge, "link", "add", ta, "type", "veth", "peer", "name", tb)
	l.ip("-n", l.bridge, "link", "set", ta, "master", a, "up")
	l.ip("-n", l.bridge, "link", "set", tb, "master", b, "up")
	return ta
}

// host is one machine on the lab's LAN.
type host struct {
	lab  *lab
	ns   string
	addr string   // 10.77.0.N
	port string   // its port on the bridge, in the bridge namespace
	env  []string // KEY=VALUE for the processes started in it
}

// addHost makes a namespace with eth0 at 10.77.0.n/24, plugged into
// bridge br.
func (l *lab) addHost(n int, br string) *host {
	l.t.Helper()
	h := &host{lab: l, ns: l.netns(fmt.Sprintf("h%d", n)), addr: fmt.Sprintf("10.77.0.%d", n), port: fmt.Sprintf("p%d", n)}
	l.ip("-n", h.ns, "link", "add", "eth0", "type", "veth", "peer", "name", h.port, "netns", l.bridge)
	l.ip("-n", h.ns, "addr", "add", h.addr+"/24", "dev", "eth0")
	l.ip("-n", h.ns, "link", "set", "eth0", "up")
	l.ip("-n", l.bridge, "link", "set", h.port, "master", br, "up")
	return h
}

// linkDown and linkUp unplug and replug a link in the bridge namespace.
func (l *lab) linkDown(port string) { l.t.Helper(); l.ip("-n", l.bridge, "link", "set", port, "down") }
func (l *lab) linkUp(port string)   { l.t.Helper(); l.ip("-n", l.bridge, "link", "set", port, "up") }

// isolate sets a bridge port isolated, as a venue's access point does
// with client isolation: isolated ports reach only non-isolated ones.
func (l *lab) isolate(port string) {
	l.t.Helper()
	l.ip("-n", l.bridge, "link", "set", "dev", port, "type", "bridge_slave", "isolated", "on")
}

// dialer opens TCP connections from inside the host's namespace: the
// dialing goroutine's thread enters the namespace, makes its socket (which
// stays in that namespace) and then ends with the thread still locked, so
// that Go discards the thread rather than reuse it elsewhere.
func (h *host) dialer(timeout time.Duration) func(ctx context.Context, network, addr string) (net.Conn, error) {
	path := filepath.Join("/run/netns", h.ns)
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		type result struct {
			c   net.Conn
			err error
		}
		ch := make(chan result, 1)
		go func() {
			runtime.LockOSThread()
			f, err := os.Open(path)
			if err != nil {
				ch <- result{nil, err}
				return
			}
			defer f.Close()
			if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
				ch <- result{nil, fmt.Errorf("enter namespace %s: %w", h.ns, err)}
				return
			}
			d := net.Dialer{Timeout: timeout}
			c, err := d.DialContext(ctx, network, addr)
			ch <- result{c, err}
		}()
		r := <-ch
		return r.c, r.err
	}
}

// conveneCmd runs a convene command to completion in the root namespace
// (commands that touch only the data directory).
func conveneCmd(t *testing.T, args ...string) string {
	t.Helper()
	out, stderr, err := proc.Run(context.Background(), theEnv.bin, args...)
	if err != nil {
		t.Fatalf("convene %s: %v: %s", strings.Join(args, " "), err, stderr)
	}
	return out
}

// node is a convene process running in a host's namespace.
type node struct {
	*proc.Proc
	t    *testing.T
	host *host
	name string
	dir  string
}

// start runs `convene ARGS...` in the host's namespace and waits until it
// has printed its addresses: the ui: line for run, the listen: lines for
// relay. It is stopped when the test ends.
func (h *host) start(name, dir string, args ...string) *node {
	t := h.lab.t
	t.Helper()
	p, err := proc.Start(context.Background(), proc.Config{
		Bin:       theEnv.bin,
		Args:      args,
		Wrap:      h.wrap(),
		Data:      dir,
		Transport: &http.Transport{DialContext: h.dialer(10 * time.Second), MaxIdleConnsPerHost: 2},
		Timeout:   convergeTimeout,
	})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	t.Cleanup(func() {
		p.Stop(10 * time.Second)
		if t.Failed() {
			t.Logf("stderr of %s (%s):\n%s", name, h.ns, p.Stderr())
		}
	})
	return &node{Proc: p, t: t, host: h, name: name, dir: dir}
}

// hub is a `convene relay` for one gathering on host 1 of br0, at
// 10.77.0.1:4001 (a fixed port, so a restart keeps its address).
type hub struct {
	*node
	args []string
	addr string // its full /p2p address on br0
	id   string // its peer id
}

// startHub starts the lab's hub for ticket; it does no mDNS, so laptops
// reach it only through the address they are given.
func (l *lab) startHub(ticket string) *hub {
	l.t.Helper()
	dir := l.t.TempDir()
	h := &hub{args: []string{"relay", "--data", dir, "--listen", "/ip4/10.77.0.1/tcp/4001", "--gathering", ticket, "--no-mdns"}}
	h.node = l.addHost(1, "br0").start("hub", dir, h.args...)
	for _, a := range h.Listen {
		if strings.HasPrefix(a, "/ip4/10.77.0.1/tcp/4001/p2p/") {
			h.addr = a
		}
	}
	if h.addr == "" {
		l.t.Fatalf("the hub printed no listen address on 10.77.0.1:4001: %v", h.Listen)
	}
	h.id = h.addr[strings.LastIndex(h.addr, "/")+1:]
	return h
}

// isolatedLaptops starts a laptop on each of dirs on br0 (hosts 2, 3, …),
// client-isolated so that the hub is its only reachable peer, each writing
// a session titled by its name and suffix as soon as it starts.
func (h *hub) isolatedLaptops(dirs []string, suffix string) (hosts []*host, nodes []*node, sessions []string) {
	l := h.host.lab
	l.t.Helper()
	for i, d := range dirs {
		lh := l.addHost(i+2, "br0")
		l.isolate(lh.port)
		n := lh.run(fmt.Sprintf("laptop%d", i+2), d, "--hub", h.addr)
		sessions = append(sessions, write(n, n.name+suffix))
		hosts, nodes = append(hosts, lh), append(nodes, n)
	}
	return hosts, nodes, sessions
}

// restart starts the hub again on its data directory and port, after Stop.
func (h *hub) restart() {
	h.t.Helper()
	h.node = h.host.start("hub again", h.dir, h.args...)
}

// wrap is the command that runs a process in the host's namespace, with
// its environment (env execs, so signals still reach convene).
func (h *host) wrap() []string {
	w := []string{"ip", "netns", "exec", h.ns}
	if len(h.env) > 0 {
		w = append(append(w, "env"), h.env...)
	}
	return w
}

// run starts `convene run` on dir with its UI on the namespace's loopback
// and libp2p on the host's LAN address.
func (h *host) run(name, dir string, args ...string) *node {
	h.lab.t.Helper()
	return h.start(name, dir, append([]string{"run", "--data", dir, "--ui", "127.0.0.1:0", "--listen", "/ip4/" + h.addr + "/tcp/0"}, args...)...)
}

// call sends an API request (path below /api/v1) and checks its status;
// out, if not nil, receives the JSON answer.
func (n *node) call(method, path string, body any, want int, out any) {
	n.t.Helper()
	if _, err := n.API.Call(context.Background(), method, "/api/v1"+path, body, want, out); err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			n.DumpGoroutines()
		}
		n.t.Fatalf("%s: %v", n.name, err)
	}
}

// status is the part of GET /status the tests read.
type status struct {
	PeerID    string   `json:"peer_id"`
	Addrs     []string `json:"addrs"`
	Gathering struct {
		ID string `json:"id"`
	} `json:"gathering"`
	Peers []struct {
		PeerID string   `json:"peer_id"`
		Addrs  []string `json:"addrs"`
		Via    string   `json:"via"`
	} `json:"peers"`
	Ops    int    `json:"ops"`
	Digest string `json:"digest"`
}

func (n *node) status() status {
	n.t.Helper()
	var st status
	n.call("GET", "/status", nil, 200, &st)
	return st
}

// documentJSON is a session's document without its freshness, for
// comparing nodes.
func (n *node) documentJSON(sid string) string {
	n.t.Helper()
	doc, err := proc.DocumentJSON(context.Background(), n.API, sid)
	if err != nil {
		n.t.Fatalf("%s: %v", n.name, err)
	}
	return doc
}

// eventually polls cond until it holds, for at most convergeTimeout.
func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	testkit.Eventually(t, convergeTimeout, what, cond)
}

// converged waits until every node holds the same operations.
func converged(t *testing.T, what string, nodes ...*node) {
	t.Helper()
	eventually(t, what, func() (bool, string) {
		var s []string
		same := true
		first := ""
		for i, n := range nodes {
			st := n.status()
			s = append(s, fmt.Sprintf("%s:%s/%d ops/%d peers", n.name, st.Digest, st.Ops, len(st.Peers)))
			if i == 0 {
				first = st.Digest
			}
			same = same && st.Digest == first
		}
		return same, strings.Join(s, " ")
	})
}

// gathering makes a gathering in a new directory and joins count more
// directories to it from its invite, as laptops do at a venue. It returns
// the directories (the founder's first) and the hub ticket.
func gathering(t *testing.T, name string, count int) ([]string, string) {
	t.Helper()
	dirs := []string{t.TempDir()}
	var invite string
	for _, l := range strings.Split(conveneCmd(t, "init", "--data", dirs[0], "--name", name), "\n") {
		if strings.HasPrefix(l, "convene:") {
			invite = l
		}
	}
	if invite == "" {
		t.Fatal("convene init printed no invite")
	}
	for i := range count {
		d := t.TempDir()
		conveneCmd(t, "join", "--data", d, "--identity", fmt.Sprintf("laptop %d", i+1), invite)
		dirs = append(dirs, d)
	}
	for _, l := range strings.Split(conveneCmd(t, "status", "--data", dirs[0]), "\n") {
		if ticket, ok := strings.CutPrefix(l, "hub ticket: "); ok {
			return dirs, ticket
		}
	}
	t.Fatal("convene status printed no hub ticket")
	return nil, ""
}
