package mesh_test

import (
	"io"
	"testing"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/p2p/protocol/ping"

	"github.com/convene/convene/node/mesh"
)

// stallPings makes m's host take ping streams and never answer, as a
// connection across a cut link does; the ping streams open already (peers
// keep theirs between pings) are reset.
func stallPings(m *mesh.Mesh) {
	m.Host().SetStreamHandler(ping.ID, func(s network.Stream) {
		io.Copy(io.Discard, s) // returns when the pinger gives up
		s.Reset()
	})
	for _, c := range m.Host().Network().Conns() {
		for _, s := range c.GetStreams() {
			if s.Protocol() == ping.ID {
				s.Reset()
			}
		}
	}
}

func peerState(m *mesh.Mesh, id string) string {
	for _, p := range m.Peers() {
		if p.PeerID == id {
			return p.State
		}
	}
	return ""
}

// A peer that stops answering is shown as unreachable, stops counting in
// freshness, and its connection is closed; when it answers again the
// redial makes a new connection, which reconciles what was written
// meanwhile.
func TestLivenessUnreachableThenHeals(t *testing.T) {
	na, creds := newGathering(t)
	nb := joinNode(t, creds, "bob")
	g := creds.Derive().Gathering
	b := replica(t, nb, mesh.Config{})
	a := replica(t, na, mesh.Config{Peers: addrs(t, b)})
	bid := b.ID()
	waitFor(t, "b connected and synced", func() bool {
		n, _ := a.Freshness(g)
		return peerState(a, bid) == mesh.StateConnected && n == 1
	})

	stallPings(b)
	waitFor(t, "b unreachable", func() bool { return peerState(a, bid) == mesh.StateUnreachable })
	if n, _ := a.Freshness(g); n != 0 {
		t.Fatalf("freshness counts %d peers over a dead connection", n)
	}
	for _, p := range a.Peers() {
		if p.PeerID == bid && p.Reason == "" {
			t.Fatal("an unreachable peer is listed without a reason")
		}
	}

	act(t, nb, "written while apart", 3)
	ping.NewPingService(b.Host()) // answers again
	waitFor(t, "b connected again", func() bool { return peerState(a, bid) == mesh.StateConnected })
	waitConverged(t, na, nb)
}
