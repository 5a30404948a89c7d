package mesh_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/node"
	"github.com/convene/convene/node/mesh"
	"github.com/convene/convene/node/recon"
)

const (
	reconProto = "/convene/recon/4"
	pexProto   = "/convene/pex/2"
)

// bareHost is a libp2p host that runs none of the mesh's protocols: it
// opens streams by hand. opts are added to its options (an identity, say).
func bareHost(t *testing.T, opts ...libp2p.Option) host.Host {
	t.Helper()
	h, err := libp2p.New(append([]libp2p.Option{libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.DisableMetrics()}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

func dialMesh(t *testing.T, h host.Host, m *mesh.Mesh) {
	t.Helper()
	if err := h.Connect(testContext(t), peer.AddrInfo{ID: m.Host().ID(), Addrs: m.Host().Addrs()}); err != nil {
		t.Fatal(err)
	}
}

// openSession opens a reconciliation stream for g and sends nothing more.
func openSession(t *testing.T, h host.Host, m *mesh.Mesh, g crdt.GatheringID) network.Stream {
	t.Helper()
	s, err := h.NewStream(testContext(t), m.Host().ID(), reconProto)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Reset() })
	if _, err := s.Write(g[:]); err != nil {
		t.Fatal(err)
	}
	return s
}

// readReset reads s until it fails and reports whether the peer reset it
// (rather than the test's deadline passing).
func readReset(t *testing.T, s network.Stream) bool {
	t.Helper()
	_ = s.SetReadDeadline(time.Now().Add(testTimeout))
	_, err := io.Copy(io.Discard, s)
	return errors.Is(err, network.ErrReset)
}

// TestInboundSessionGuard: a peer gets one inbound session per gathering
// at a time; a second one is refused while the first runs.
func TestInboundSessionGuard(t *testing.T) {
	b, creds := newGathering(t)
	g := creds.Derive().Gathering
	mb := member(t, b, mesh.Config{})
	h := bareHost(t)
	dialMesh(t, h, mb)

	first := openSession(t, h, mb, g)
	waitFor(t, "the first session", func() bool { return mesh.InboundSessions(mb, g) == 1 })
	if !readReset(t, openSession(t, h, mb, g)) {
		t.Fatal("a second concurrent session was not refused")
	}
	first.Reset()
	waitFor(t, "the first session to end", func() bool { return mesh.InboundSessions(mb, g) == 0 })

	// Once it ended, a new one is served: an empty side's first message
	// gets an answer.
	s := openSession(t, h, mb, g)
	rc := recon.NewReconciler(recon.NewIndex(), recon.Options{})
	msg, err := rc.Initiate()
	if err != nil {
		t.Fatal(err)
	}
	f := binary.AppendUvarint([]byte{'R'}, uint64(len(msg)))
	if _, err := s.Write(append(f, msg...)); err != nil {
		t.Fatal(err)
	}
	_ = s.SetReadDeadline(time.Now().Add(testTimeout))
	typ, err := bufio.NewReader(s).ReadByte()
	if err != nil || typ != 'R' {
		t.Fatalf("first frame of the answer: %q, %v", typ, err)
	}
}

// TestSessionDeadline: a session ends at its deadline, even one that is
// never idle long enough for the idle timeout.
func TestSessionDeadline(t *testing.T) {
	b, creds := newGathering(t)
	g := creds.Derive().Gathering
	mb := newMesh(t, mesh.Config{Key: b.PeerKey()})
	mesh.SetSessionTimeout(mb, 200*time.Millisecond) // the idle timeout is 30s
	if err := mb.Join(testContext(t), b); err != nil {
		t.Fatal(err)
	}
	h := bareHost(t)
	dialMesh(t, h, mb)
	if !readReset(t, openSession(t, h, mb, g)) {
		t.Fatal("the session outlived its deadline")
	}
	waitFor(t, "the session to end", func() bool { return mesh.InboundSessions(mb, g) == 0 })
}

// askPeers runs a peer exchange from h with m, saying h is connected to
// connected, and returns the answer, or an error if m refused.
func askPeers(t *testing.T, h host.Host, m *mesh.Mesh, connected ...peer.ID) ([]byte, error) {
	t.Helper()
	s, err := h.NewStream(testContext(t), m.Host().ID(), pexProto)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Write(mesh.EncodePEXRequest(connected)); err != nil {
		return nil, err
	}
	_ = s.CloseWrite()
	_ = s.SetReadDeadline(time.Now().Add(testTimeout))
	return io.ReadAll(s)
}

// TestPEXOnlyWithinGatherings: peer exchange answers only peers that
// reconciled a gathering, and tells each only of peers of its gatherings.
func TestPEXOnlyWithinGatherings(t *testing.T) {
	ctx := testContext(t)
	a, creds := newGathering(t)
	b := joinNode(t, creds, "bob")
	c, other := newGathering(t)
	g1, g2 := creds.Derive().Gathering, other.Derive().Gathering

	// A hub of both gatherings.
	mh := newMesh(t, mesh.Config{Hub: true})
	for _, tk := range []crdt.Ticket{creds.Derive().Ticket(), other.Derive().Ticket()} {
		st := storeFor(t)
		l, err := st.Log(ctx, tk.Gathering)
		if err != nil {
			t.Fatal(err)
		}
		if err := mh.Join(ctx, node.NewHubReplica(l, tk, time.Now)); err != nil {
			t.Fatal(err)
		}
	}
	ma, mb, mc := member(t, a, mesh.Config{}), member(t, b, mesh.Config{}), member(t, c, mesh.Config{})
	for _, m := range []*mesh.Mesh{ma, mb, mc} {
		connect(t, m, mh)
	}
	sessionWith(t, ma, g1)
	sessionWith(t, mb, g1)
	sessionWith(t, mc, g2)

	// A stranger that reconciled nothing is told nothing.
	stranger := bareHost(t)
	dialMesh(t, stranger, mh)
	if ans, err := askPeers(t, stranger, mh); err == nil {
		t.Errorf("a stranger got an answer of %d bytes", len(ans))
	}
	// b learns of a; c, of another gathering, does not.
	var ans []byte
	var err error
	waitFor(t, "the hub to record a's session", func() bool {
		ans, err = askPeers(t, mb.Host(), mh)
		return err == nil && containsID(ans, ma)
	})
	// ... unless b says it is connected to a already.
	if ans, err := askPeers(t, mb.Host(), mh, ma.Host().ID()); err != nil || containsID(ans, ma) {
		t.Errorf("b, connected to a, was told of a (or refused: %v)", err)
	}
	ans, err = askPeers(t, mc.Host(), mh)
	if err != nil {
		t.Fatalf("c, which reconciled with the hub, was refused: %v", err)
	}
	if containsID(ans, ma) || containsID(ans, mb) {
		t.Error("the hub told c of peers of another gathering")
	}
}

func containsID(b []byte, m *mesh.Mesh) bool {
	return bytes.Contains(b, []byte(m.Host().ID()))
}

// blocking is a node whose Get waits, once armed, until released.
type blocking struct {
	*node.Node
	armed    atomic.Bool
	inside   chan struct{}
	release  chan struct{}
	returned atomic.Bool
}

func (b *blocking) Get(ctx context.Context, items []recon.Item) ([][]byte, error) {
	if b.armed.CompareAndSwap(true, false) {
		close(b.inside)
		<-b.release
		defer b.returned.Store(true)
	}
	return b.Node.Get(ctx, items)
}

// TestCloseWaitsForResponders: Close returns only once a session a peer
// started is out of the replica, so the node may close its store after.
func TestCloseWaitsForResponders(t *testing.T) {
	a, creds := newGathering(t)
	b := joinNode(t, creds, "bob")
	g := creds.Derive().Gathering
	ma := replica(t, a, mesh.Config{})
	slow := &blocking{Node: b, inside: make(chan struct{}), release: make(chan struct{})}
	mb := newMesh(t, mesh.Config{Key: b.PeerKey()})
	if err := mb.Join(testContext(t), slow); err != nil {
		t.Fatal(err)
	}
	connect(t, ma, mb)
	waitConverged(t, a, b)
	// b has operations a lacks: a's session makes b's responder read them.
	act(t, b, "to push", 3)
	slow.armed.Store(true)
	go ma.SyncNow(testContext(t), g)
	<-slow.inside

	closed := make(chan struct{})
	go func() { mb.Close(); close(closed) }()
	waitFor(t, "the host to close", func() bool { return len(mb.Host().Network().ListenAddresses()) == 0 })
	select {
	case <-closed:
		t.Fatal("Close returned while a responder was inside the replica")
	default:
	}
	close(slow.release)
	<-closed
	if !slow.returned.Load() {
		t.Error("Close returned before the responder left the replica")
	}
}
