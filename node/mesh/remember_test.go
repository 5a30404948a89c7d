package mesh_test

import (
	"testing"

	"github.com/convene/convene/node/mesh"
)

// A node started with the peers it synced with on its last run dials them
// by itself, and lists one it cannot reach as unreachable, with why.
func TestRememberedPeers(t *testing.T) {
	na, creds := newGathering(t)
	nb := joinNode(t, creds, "bob")
	nc := joinNode(t, creds, "carol")
	b := member(t, nb, mesh.Config{})
	c := member(t, nc, mesh.Config{})
	a := member(t, na, mesh.Config{})
	connect(t, a, b)
	connect(t, a, c)
	waitFor(t, "a synced with b and c", func() bool { return len(a.Synced()) == 2 })
	remembered := a.Synced()
	for _, ai := range remembered {
		if len(ai.Addrs) == 0 {
			t.Fatalf("%s remembered without addresses", ai.ID)
		}
	}
	a.Close()
	c.Close() // gone when a comes back

	act(t, nb, "while a was away", 2)
	a2 := member(t, na, mesh.Config{Remembered: remembered})
	waitFor(t, "a back with b, c unreachable", func() bool {
		return peerState(a2, b.ID()) == mesh.StateConnected && peerState(a2, c.ID()) == mesh.StateUnreachable
	})
	waitConverged(t, na, nb)
	for _, p := range a2.Peers() {
		switch p.PeerID {
		case b.ID():
			if p.Via != mesh.ViaRemembered {
				t.Errorf("b found via %q, want %q", p.Via, mesh.ViaRemembered)
			}
		case c.ID():
			if p.Reason == "" {
				t.Error("c unreachable without a reason")
			}
		}
	}
}
