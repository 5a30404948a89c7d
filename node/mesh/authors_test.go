package mesh_test

import (
	"testing"
	"time"

	"github.com/convene/convene/node"
	"github.com/convene/convene/node/mesh"
)

// TestPeerIdentities: a peer is shown with the identities whose operations
// it published itself (and that this node took as new), by name; a peer
// whose operations came only by reconciliation is not (it did not publish
// them: a hub, or a laptop that synced them from elsewhere, looks the
// same).
func TestPeerIdentities(t *testing.T) {
	a, creds := newGathering(t)
	b := joinNode(t, creds, "bob")
	c := joinNode(t, creds, "carol")
	g := creds.Derive().Gathering
	ma := member(t, a, mesh.Config{})
	// b as `convene run` connects it: its status reports the mesh's peers.
	mb, err := b.Connect(testContext(t), mesh.Config{Listen: loopback(), SyncInterval: time.Hour, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mb.Close() })
	mc := replica(t, c, mesh.Config{}) // reaches b by reconciliation only
	connect(t, ma, mb)
	connect(t, mc, mb)
	waitConverged(t, a, b, c)
	waitTopic(t, g, 1, ma, mb)

	act(t, a, "Ana", 1) // renames a's identity "Ana 0", through gossip
	// Before c acts: c's write reconciles with its peers one at a time,
	// and the later session (with b) would carry a's operation too if c
	// already held it, racing gossip.
	waitConverged(t, a, b)
	act(t, c, "Cy", 1)
	mc.SyncNow(testContext(t), g)
	waitConverged(t, a, b, c)
	peerOf := func(st node.Status, m *mesh.Mesh) node.Peer {
		for _, p := range st.Peers {
			if p.PeerID == m.ID() {
				return p
			}
		}
		t.Fatalf("peer %s not in %+v", m.ID(), st.Peers)
		return node.Peer{}
	}
	waitFor(t, "both peers synced", func() bool { return len(b.Status().Peers) == 2 })
	waitFor(t, "a's identity behind a's peer", func() bool {
		ids := peerOf(b.Status(), ma).Identities
		return len(ids) == 1 && ids[0].ID == a.DefaultIdentity().ID && ids[0].Name == "Ana 0"
	})
	if ids := peerOf(b.Status(), mc).Identities; len(ids) != 0 {
		t.Errorf("a peer that published nothing is shown with %+v", ids)
	}
}
