package mesh_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multiaddr"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/node"
	"github.com/convene/convene/node/mesh"
	"github.com/convene/convene/node/recon"
	"github.com/convene/convene/node/store"
)

func TestGossipConverges(t *testing.T) {
	a, creds := newGathering(t)
	b := joinNode(t, creds, "bob")
	c := joinNode(t, creds, "carol")
	g := creds.Derive().Gathering
	ma, mb, mc := member(t, a, mesh.Config{}), member(t, b, mesh.Config{}), member(t, c, mesh.Config{})

	connect(t, ma, mb)
	connect(t, mc, mb)
	connect(t, ma, mc)
	waitConverged(t, a, b, c) // the operations made at start-up, by reconciliation
	waitFor(t, "first syncs", func() bool {
		for _, m := range []*mesh.Mesh{ma, mb, mc} {
			if peers, _ := m.Freshness(g); peers != 2 {
				return false
			}
		}
		return true
	})
	waitTopic(t, g, 2, ma, mb, mc)
	// The GossipSub meshes formed, and each pair's graft reconciled
	// (converge.go): one landing after the writes below would carry by
	// reconciliation what gossip had not delivered yet.
	waitFor(t, "meshes and their grafts' reconciliations", func() bool {
		grafts := int64(0)
		for _, m := range []*mesh.Mesh{ma, mb, mc} {
			if _, peers := m.GossipPeers(g); peers != 2 {
				return false
			}
			grafts += m.Stats().GraftSyncs
		}
		return grafts >= 3
	})

	before := []mesh.Stats{ma.Stats(), mb.Stats(), mc.Stats()}
	act(t, a, "from a", 5)
	act(t, b, "from b", 5)
	act(t, c, "from c", 5)
	waitConverged(t, a, b, c)
	for i, m := range []*mesh.Mesh{ma, mb, mc} {
		if got := m.Stats().OpsReceived - before[i].OpsReceived; got != 0 {
			t.Errorf("mesh %d received %d operations by reconciliation; want all by gossip", i, got)
		}
	}
	if n := a.Log().Len(); n < 15 {
		t.Errorf("a holds %d operations, want at least 15", n)
	}
}

func TestReconcileOnConnect(t *testing.T) {
	a, creds := newGathering(t)
	b := joinNode(t, creds, "bob")
	// No gossip here: the nodes do not publish.
	ma, mb := replica(t, a, mesh.Config{}), replica(t, b, mesh.Config{})
	act(t, a, "a", 300)
	act(t, b, "b", 200)
	la, lb := a.Log().Len(), b.Log().Len()
	connect(t, ma, mb)
	waitConverged(t, a, b)
	// Both sides record the sync, whichever started it.
	for _, m := range []*mesh.Mesh{ma, mb} {
		waitFor(t, "freshness", func() bool {
			peers, last := m.Freshness(creds.Derive().Gathering)
			return peers == 1 && !last.IsZero()
		})
		ps := m.Peers()
		if len(ps) != 1 || ps[0].LastSync.IsZero() {
			t.Errorf("peers = %+v, want one peer with a last sync", ps)
		}
	}
	// Each missing operation crossed once.
	if got := ma.Stats().OpsReceived + mb.Stats().OpsReceived; got != int64(la+lb) {
		t.Errorf("reconciliation carried %d operations, want %d", got, la+lb)
	}
	if a.Log().Len() != la+lb {
		t.Errorf("a holds %d operations, want %d", a.Log().Len(), la+lb)
	}
}

func TestReconcileHealsLostGossip(t *testing.T) {
	a, creds := newGathering(t)
	b := joinNode(t, creds, "bob")
	g := creds.Derive().Gathering
	lossy := &dropper{Node: b}
	ma := member(t, a, mesh.Config{})
	mb := newMesh(t, mesh.Config{Key: b.PeerKey()})
	if err := mb.Join(testContext(t), lossy); err != nil {
		t.Fatal(err)
	}
	b.SetPublisher(mb)
	connect(t, ma, mb)
	waitConverged(t, a, b)
	waitTopic(t, g, 1, ma, mb)

	// Gossip reaches b and is dropped there, as by a full buffer; b's
	// reconciliation brings the operations.
	lossy.drop.Store(true)
	ids := act(t, a, "lost", 10)
	// At least: a reconciliation when the mesh forms (a graft) may be
	// dropped too.
	waitFor(t, "gossip to be dropped", func() bool { return lossy.dropped.Load() >= int64(len(ids)) })
	lossy.drop.Store(false)
	for _, id := range ids {
		if has(t, b, id) {
			t.Fatalf("b has %s although gossip was dropped", id)
		}
	}
	before := mb.Stats().OpsReceived
	mb.SyncNow(testContext(t), g)
	waitConverged(t, a, b)
	for _, id := range ids {
		if !has(t, b, id) {
			t.Errorf("b lacks %s", id)
		}
	}
	if n := mb.Stats().OpsReceived - before; n != int64(len(ids)) {
		t.Errorf("reconciliation brought %d operations, want %d", n, len(ids))
	}

	// Publishing while disconnected loses everything to gossip; the
	// reconciliation on reconnecting brings it back.
	for _, c := range ma.Host().Network().ConnsToPeer(mb.Host().ID()) {
		c.Close()
	}
	waitFor(t, "disconnection", func() bool { return len(ma.Peers()) == 0 && len(mb.Peers()) == 0 })
	act(t, a, "offline", 5)
	act(t, b, "offline", 5)
	connect(t, mb, ma)
	waitConverged(t, a, b)
}

func TestInSyncIsOneRoundTrip(t *testing.T) {
	a, creds := newGathering(t)
	b := joinNode(t, creds, "bob")
	g := creds.Derive().Gathering
	ma, mb := member(t, a, mesh.Config{}), member(t, b, mesh.Config{})
	act(t, a, "a", 2000)
	connect(t, ma, mb)
	waitConverged(t, a, b)
	// Wait for the sessions started by connecting, joining and the
	// GossipSub graft to finish: each side counts every session between
	// them, so the counts agree once none is running.
	waitFor(t, "first sync", func() bool {
		pa, _ := ma.Freshness(g)
		pb, _ := mb.Freshness(g)
		sa, sb := ma.Stats(), mb.Stats()
		return pa == 1 && pb == 1 && sa.GraftSyncs+sb.GraftSyncs >= 1 && sa.Sessions == sb.Sessions
	})
	sa, sb := ma.Stats(), mb.Stats()
	ma.SyncNow(testContext(t), g)
	da, db := ma.Stats(), mb.Stats()
	if da.Sessions != sa.Sessions+1 {
		t.Fatalf("sessions %d → %d, want one more", sa.Sessions, da.Sessions)
	}
	if n := da.ReconSent - sa.ReconSent; n != 1 {
		t.Errorf("initiator sent %d reconciliation messages, want 1", n)
	}
	if n := da.ReconReceived - sa.ReconReceived; n != 1 {
		t.Errorf("initiator received %d reconciliation messages, want 1", n)
	}
	if n := da.OpsSent - sa.OpsSent + db.OpsSent - sb.OpsSent; n != 0 {
		t.Errorf("%d operations pushed between peers in sync", n)
	}
	if n := da.BytesSent - sa.BytesSent; n > 256 {
		t.Errorf("in-sync check sent %d bytes", n)
	}
}

// forge breaks the signature of an encoded operation.
func forge(raw []byte) []byte {
	f := bytes.Clone(raw)
	f[len(f)-1] ^= 0x55
	return f
}

func TestForgedGossipRejected(t *testing.T) {
	a, creds := newGathering(t)
	b := joinNode(t, creds, "bob")
	g := creds.Derive().Gathering
	mb := member(t, b, mesh.Config{})

	// An attacker: a plain GossipSub host with no validator, which
	// publishes whatever it likes on the gathering's topic.
	ctx := testContext(t)
	h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.DisableMetrics())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	ps, err := pubsub.NewGossipSub(ctx, h, pubsub.WithFloodPublish(true))
	if err != nil {
		t.Fatal(err)
	}
	topic, err := ps.Join(g.Topic())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := topic.Subscribe(); err != nil {
		t.Fatal(err)
	}
	if err := h.Connect(ctx, peer.AddrInfo{ID: mb.Host().ID(), Addrs: mb.Host().Addrs()}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "attacker on the topic", func() bool { return len(topic.ListPeers()) == 1 })

	ids := act(t, a, "real", 2) // a is not connected: these travel only via the attacker
	var raws [][]byte
	for _, id := range ids {
		raw, _, err := a.Stored(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		raws = append(raws, raw)
	}
	forged := forge(raws[1])

	// A genuine operation passes: the path works.
	if err := topic.Publish(ctx, mesh.EncodeBatch(raws[:1])); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the genuine operation", func() bool { return has(t, b, ids[0]) })
	// A forged one, alone or beside a genuine one, is rejected.
	for _, batch := range [][][]byte{{forged}, {raws[1], forged}} {
		if err := topic.Publish(ctx, mesh.EncodeBatch(batch)); err != nil {
			t.Fatal(err)
		}
	}
	rejected := mb.Stats().Rejected
	waitFor(t, "rejections", func() bool { rejected = mb.Stats().Rejected; return rejected >= 2 })
	if has(t, b, ids[1]) {
		t.Error("b stored an operation that came in a batch with a forged one")
	}
	if _, err := crdt.DecodeEnvelope(forged); err != nil {
		t.Fatal(err)
	}
	if b.Log().Contains(itemOf(t, forged)) {
		t.Error("b stored a forged operation")
	}
}

func TestForgedReconRejected(t *testing.T) {
	a, creds := newGathering(t)
	b := joinNode(t, creds, "bob")
	ids := act(t, a, "a", 5)
	// a serves one of its operations with a broken signature.
	bad := ids[2]
	liar := &forger{Node: a, bad: bad}
	ma := newMesh(t, mesh.Config{Key: a.PeerKey()})
	if err := ma.Join(testContext(t), liar); err != nil {
		t.Fatal(err)
	}
	mb := member(t, b, mesh.Config{})
	connect(t, ma, mb)
	waitFor(t, "rejection", func() bool { return mb.Stats().Rejected >= 1 })
	for _, id := range ids {
		if got := has(t, b, id); got != (id != bad) {
			t.Errorf("b holds %s: %v", id, got)
		}
	}
}

// forger is a node that serves a forged copy of one of its operations.
type forger struct {
	*node.Node
	bad crdt.OpID
}

func (f *forger) Get(ctx context.Context, items []recon.Item) ([][]byte, error) {
	raws, err := f.Node.Get(ctx, items)
	for i, raw := range raws {
		if e, err := crdt.DecodeEnvelope(raw); err == nil && e.ID() == f.bad {
			raws[i] = forge(raw)
		}
	}
	return raws, err
}

func TestHubRelays(t *testing.T) {
	a, creds := newGathering(t)
	b := joinNode(t, creds, "bob")
	g := creds.Derive().Gathering
	ka, kb := a.PeerKey(), b.PeerKey()
	ida, _ := peer.IDFromPrivateKey(ka)
	idb, _ := peer.IDFromPrivateKey(kb)
	keep := apart{ida, idb}

	// Reconciliation runs often: pairs reconcile only with each other, so
	// what b brought the hub reaches a at a's next round with the hub.
	mh, hubLog := hub(t, creds.Derive().Ticket(), mesh.Config{Gater: keep.gater(""), SyncInterval: 300 * time.Millisecond})
	hubs := mesh.Config{Hubs: addrs(t, mh), SyncInterval: 300 * time.Millisecond}
	hubs.Gater = keep.gater(ida)
	ma := member(t, a, hubs)
	hubs.Gater = keep.gater(idb)
	mb := member(t, b, hubs)

	// Reconciliation through the hub brings both members' start-up
	// operations to each other.
	waitConverged(t, a, b)
	waitTopic(t, g, 1, ma, mb)
	waitTopic(t, g, 2, mh)
	// Live operations go through the hub's GossipSub.
	const secret = "the plan nobody outside may read"
	ids := act(t, a, secret, 3)
	waitConverged(t, a, b)

	if n := ma.Host().Network().ConnsToPeer(idb); len(n) != 0 {
		t.Fatal("a and b connected directly")
	}
	for _, p := range ma.Peers() {
		if p.PeerID == idb.String() {
			t.Fatal("a lists b as a peer")
		}
		if p.Via != mesh.ViaHub {
			t.Errorf("a reached %s via %q, want hub", p.PeerID, p.Via)
		}
	}
	// The hub stored the operations, sealed.
	for _, id := range ids {
		it := store.Item{ID: id}
		a.View(func(s *crdt.State) { it.Clock, _ = s.ClockOf(id) })
		raws, err := hubLog.Get(testContext(t), []store.Item{it})
		if err != nil || len(raws) != 1 {
			t.Fatalf("hub lacks %s: %v", id, err)
		}
		if bytes.Contains(raws[0], []byte("plan nobody")) {
			t.Error("the hub holds a readable payload")
		}
	}
	if hubLog.Digest() != a.Log().Digest() {
		t.Error("hub does not hold the whole gathering")
	}
}

func TestPeersAndExchange(t *testing.T) {
	a, creds := newGathering(t)
	b := joinNode(t, creds, "bob")
	c := joinNode(t, creds, "carol")
	mb := member(t, b, mesh.Config{})
	ma := member(t, a, mesh.Config{Peers: addrs(t, mb)})
	waitFor(t, "a to reach b", func() bool { return len(mb.Peers()) == 1 })
	// b tells of a peer once it reconciled with it.
	waitFor(t, "a and b to reconcile", func() bool {
		peers, _ := mb.Freshness(creds.Derive().Gathering)
		return peers == 1
	})
	// c knows only b; peer exchange tells it about a.
	mc := member(t, c, mesh.Config{InvitePeers: addrs(t, mb)})
	waitFor(t, "c to find a", func() bool { return len(mc.Peers()) == 2 })
	waitConverged(t, a, b, c)

	via := func(m *mesh.Mesh, other *mesh.Mesh) string {
		for _, p := range m.Peers() {
			if p.PeerID == other.ID() {
				return p.Via
			}
		}
		return ""
	}
	for _, tc := range []struct {
		name     string
		m, other *mesh.Mesh
		want     string
	}{
		{"a→b", ma, mb, mesh.ViaStatic},
		{"b←a", mb, ma, mesh.ViaInbound},
		{"c→b", mc, mb, mesh.ViaInvite},
		{"c→a", mc, ma, mesh.ViaPEX},
		{"a←c", ma, mc, mesh.ViaInbound},
	} {
		if got := via(tc.m, tc.other); got != tc.want {
			t.Errorf("%s: via %q, want %q", tc.name, got, tc.want)
		}
	}
	for _, p := range mc.Peers() {
		if len(p.Addrs) == 0 || p.Since.IsZero() {
			t.Errorf("peer %+v lacks addresses or a start", p)
		}
	}
}

func TestQUIC(t *testing.T) {
	a, creds := newGathering(t)
	b := joinNode(t, creds, "bob")
	quic := []multiaddr.Multiaddr{multiaddr.StringCast("/ip4/127.0.0.1/udp/0/quic-v1")}
	ma := member(t, a, mesh.Config{Listen: quic})
	mb := member(t, b, mesh.Config{Listen: quic, Peers: addrs(t, ma)})
	act(t, a, "over quic", 3)
	waitConverged(t, a, b)
	for _, p := range mb.Peers() {
		if !strings.Contains(p.Addrs[0], "/quic-v1") {
			t.Errorf("peer reached over %s", p.Addrs[0])
		}
	}
}

func TestDefaultListen(t *testing.T) {
	m, err := mesh.New(testContext(t), mesh.Config{Key: newKey(t), Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	var tcp, quic bool
	for _, a := range m.Addrs() {
		if !strings.HasSuffix(a, "/p2p/"+m.ID()) {
			t.Errorf("address %s does not end in the peer id", a)
		}
		tcp = tcp || strings.Contains(a, "/tcp/")
		quic = quic || strings.Contains(a, "/quic-v1/")
	}
	if !tcp || !quic {
		t.Errorf("listening on %v, want TCP and QUIC", m.Addrs())
	}
}

func TestNotJoined(t *testing.T) {
	m := newMesh(t, mesh.Config{})
	err := m.Publish(testContext(t), crdt.GatheringID{1}, []byte{1})
	if !errors.Is(err, mesh.ErrNotJoined) {
		t.Errorf("publish to an unknown gathering: %v", err)
	}
	if err := m.Publish(testContext(t), crdt.GatheringID{1}, make([]byte, crdt.MaxEnvelopeSize+1)); err == nil {
		t.Error("publish of an oversized operation passed")
	}
	if _, err := mesh.New(testContext(t), mesh.Config{Key: newKey(t), Peers: loopback()}); err == nil {
		t.Error("a static peer without /p2p/ was accepted")
	}
}

func addrs(t *testing.T, m *mesh.Mesh) []multiaddr.Multiaddr {
	return []multiaddr.Multiaddr{addrOf(t, m)}
}

func has(t *testing.T, n *node.Node, id crdt.OpID) bool {
	t.Helper()
	_, ok, err := n.Stored(testContext(t), id)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

func itemOf(t *testing.T, raw []byte) recon.Item {
	t.Helper()
	e, err := crdt.DecodeEnvelope(raw)
	if err != nil {
		t.Fatal(err)
	}
	return recon.Item{Clock: e.Clock, ID: e.ID()}
}

// TestNewFailureLeaksNothing: a host that cannot start leaves no
// resource or connection manager running.
func TestNewFailureLeaksNothing(t *testing.T) {
	// An address of no local interface cannot be listened on.
	unbindable := []multiaddr.Multiaddr{multiaddr.StringCast("/ip4/192.0.2.1/tcp/0")}
	if _, err := mesh.New(testContext(t), mesh.Config{Key: newKey(t), Listen: unbindable, Logger: testLogger()}); err == nil {
		t.Fatal("a mesh started on an address it cannot listen on")
	}
	leaked := []string{"resourceManager).background", "BasicConnMgr).background", "decayer).process"}
	waitFor(t, "the managers to stop", func() bool { return runningFunc(leaked...) == "" })
}
