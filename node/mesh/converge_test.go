package mesh_test

import (
	"testing"

	"github.com/convene/convene/node/mesh"
)

// Writes made right after a connection forms, before the peers know each
// other's subscriptions, reach the other side without waiting for the
// periodic round (an hour here): by reconciliation when the peer joins the
// topic, or shortly after a write gossiped to nobody.
func TestFirstWritesConverge(t *testing.T) {
	for range 3 {
		na, creds := newGathering(t)
		nb := joinNode(t, creds, "bob")
		a := member(t, na, mesh.Config{})
		b := member(t, nb, mesh.Config{})
		connect(t, a, b)
		act(t, na, "first a", 2)
		act(t, nb, "first b", 2)
		waitConverged(t, na, nb)
	}
}
