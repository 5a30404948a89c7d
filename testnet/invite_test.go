package testnet

import (
	"strings"
	"testing"
)

// A node's invite carries, after its own addresses, those of the peers it
// synced with: an invite printed on a laptop that moved still leads to
// the room (issue 12).
func TestInviteCarriesLearnedAddresses(t *testing.T) {
	t.Parallel()
	n := newNet(t, Options{Nodes: 2})
	waitConverged(t, n)
	other := n.Mesh(1).Host().ID().String()
	eventually(t, "node 0's invite names node 1", func() bool {
		for _, a := range n.Node(0).Invite().Addrs {
			if strings.HasSuffix(a.String(), "/p2p/"+other) {
				return true
			}
		}
		return false
	})
}
