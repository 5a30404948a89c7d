package mesh_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multiaddr"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/node"
	"github.com/convene/convene/node/mesh"
	"github.com/convene/convene/node/store"
)

// testTimeout bounds each wait for convergence; polling ends as soon as
// the condition holds, so it only matters when something is broken.
const testTimeout = 20 * time.Second

func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 45*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func testLogger() *slog.Logger {
	if os.Getenv("MESH_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// newGathering creates a gathering on a first node and returns it with its
// credentials.
func newGathering(t testing.TB) (*node.Node, crdt.Credentials) {
	t.Helper()
	ctx := testContext(t)
	dir := t.TempDir()
	creds, err := node.Init(ctx, dir, "Test gathering", "alice")
	if err != nil {
		t.Fatal(err)
	}
	return openNode(t, dir), creds
}

// joinNode makes another member node of the gathering of creds.
func joinNode(t testing.TB, creds crdt.Credentials, name string) *node.Node {
	t.Helper()
	dir := t.TempDir()
	if err := node.Join(testContext(t), dir, creds, name); err != nil {
		t.Fatal(err)
	}
	return openNode(t, dir)
}

func openNode(t testing.TB, dir string) *node.Node {
	t.Helper()
	n, err := node.Open(testContext(t), node.Config{Dir: dir, Memory: true, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

func newKey(t testing.TB) crypto.PrivKey {
	t.Helper()
	k, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func loopback() []multiaddr.Multiaddr {
	return []multiaddr.Multiaddr{multiaddr.StringCast("/ip4/127.0.0.1/tcp/0")}
}

// newMesh starts a mesh on loopback. Periodic sync is off (an hour) unless
// cfg says otherwise, so tests see only the paths they exercise.
func newMesh(t testing.TB, cfg mesh.Config) *mesh.Mesh {
	t.Helper()
	if cfg.Key == nil {
		cfg.Key = newKey(t)
	}
	if cfg.Listen == nil {
		cfg.Listen = loopback()
	}
	if cfg.SyncInterval == 0 {
		cfg.SyncInterval = time.Hour
	}
	cfg.Logger = testLogger()
	m, err := mesh.New(testContext(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// member starts a mesh for node n, joined to n's gathering and publishing
// n's operations.
func member(t testing.TB, n *node.Node, cfg mesh.Config) *mesh.Mesh {
	t.Helper()
	m := replica(t, n, cfg)
	n.SetPublisher(m)
	return m
}

// replica starts a mesh for node n that does not publish n's operations:
// they reach peers by reconciliation only.
func replica(t testing.TB, n *node.Node, cfg mesh.Config) *mesh.Mesh {
	t.Helper()
	if cfg.Key == nil {
		cfg.Key = n.PeerKey()
	}
	m := newMesh(t, cfg)
	if err := m.Join(testContext(t), n); err != nil {
		t.Fatal(err)
	}
	return m
}

// hub starts a hub mesh holding gathering g by id only.
func hub(t testing.TB, g crdt.GatheringID, cfg mesh.Config) (*mesh.Mesh, *store.Log) {
	t.Helper()
	ctx := testContext(t)
	st := store.OpenMemory()
	t.Cleanup(func() { st.Close() })
	l, err := st.Log(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Hub = true
	m := newMesh(t, cfg)
	if err := m.Join(ctx, node.NewHubReplica(l)); err != nil {
		t.Fatal(err)
	}
	return m, l
}

func connect(t testing.TB, a, b *mesh.Mesh) {
	t.Helper()
	h := b.Host()
	if err := a.Host().Connect(testContext(t), peer.AddrInfo{ID: h.ID(), Addrs: h.Addrs()}); err != nil {
		t.Fatal(err)
	}
}

func addrOf(t testing.TB, m *mesh.Mesh) multiaddr.Multiaddr {
	t.Helper()
	a, err := multiaddr.NewMultiaddr(m.Addrs()[0])
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// act makes n operations on nd (names, which any identity may give itself
// any number of times).
func act(t testing.TB, nd *node.Node, prefix string, n int) []crdt.OpID {
	t.Helper()
	ctx := testContext(t)
	var ids []crdt.OpID
	for i := range n {
		op, err := nd.Act(ctx, crdt.IdentityID{}, &crdt.IdentityBody{Name: fmt.Sprintf("%s %d", prefix, i)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, op.ID)
	}
	return ids
}

// waitFor polls cond until it holds or the test times out.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitConverged waits until all nodes hold the same operations.
func waitConverged(t testing.TB, nodes ...*node.Node) {
	t.Helper()
	waitFor(t, "convergence", func() bool {
		d := nodes[0].Log().Digest()
		for _, n := range nodes[1:] {
			if n.Log().Digest() != d {
				return false
			}
		}
		return true
	})
}

// waitTopic waits until every mesh sees want peers on g's topic, so that
// gossip has somewhere to go.
func waitTopic(t testing.TB, g crdt.GatheringID, want int, ms ...*mesh.Mesh) {
	t.Helper()
	waitFor(t, "topic peers", func() bool {
		for _, m := range ms {
			if mesh.TopicPeers(m, g) < want {
				return false
			}
		}
		return true
	})
}

// apart is a connection gater that keeps the given peers from connecting
// to each other directly.
type apart struct{ a, b peer.ID }

func (g apart) blocked(self, p peer.ID) bool {
	return (self == g.a && p == g.b) || (self == g.b && p == g.a)
}

// gater returns the gater for the host self.
func (g apart) gater(self peer.ID) gate { return gate{apart: g, self: self} }

type gate struct {
	apart
	self peer.ID
}

func (g gate) InterceptPeerDial(p peer.ID) bool                        { return !g.blocked(g.self, p) }
func (g gate) InterceptAddrDial(p peer.ID, _ multiaddr.Multiaddr) bool { return !g.blocked(g.self, p) }
func (g gate) InterceptAccept(network.ConnMultiaddrs) bool             { return true }
func (g gate) InterceptSecured(_ network.Direction, p peer.ID, _ network.ConnMultiaddrs) bool {
	return !g.blocked(g.self, p)
}
func (g gate) InterceptUpgraded(network.Conn) (bool, control.DisconnectReason) { return true, 0 }

// runningFunc returns the first of funcs that some goroutine is running,
// or "".
func runningFunc(funcs ...string) string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	for _, f := range funcs {
		if bytes.Contains(buf, []byte(f)) {
			return f
		}
	}
	return ""
}

// dropper is a node that, while drop is set, loses whatever the mesh asks
// it to store, as a subscriber whose buffer overflowed loses gossip.
type dropper struct {
	*node.Node
	drop    atomic.Bool
	dropped atomic.Int64 // operations lost
}

func (d *dropper) Take(ctx context.Context, raws [][]byte, p mesh.Policy) (mesh.Ingested, error) {
	if d.drop.Load() {
		d.dropped.Add(int64(len(raws)))
		return mesh.Ingested{}, nil
	}
	return d.Node.Take(ctx, raws, p)
}

func storeFor(t testing.TB) *store.Store {
	st := store.OpenMemory()
	t.Cleanup(func() { st.Close() })
	return st
}
