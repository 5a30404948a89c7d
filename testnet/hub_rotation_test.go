package testnet

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/node"
)

// TestHubAfterRotation: two islands that reach each other only through a
// hub started with epoch 0's ticket. The founder rotates; the rotation
// (sealed under epoch 0) crosses the hub, the far island takes epoch 1,
// and the hub, which refuses epoch 1 at first, asks a member for the
// hand-over, checks that it chains from its own ticket, keeps it on disk,
// and relays epoch-1 operations both ways.
func TestHubAfterRotation(t *testing.T) {
	t.Parallel()
	a, b := []int{0, 1}, []int{2, 3}
	n := newNet(t, Options{Nodes: 4, Hub: true, Islands: [][]int{a, b}, SyncInterval: time.Second})
	waitConverged(t, n)
	if _, err := n.Node(0).Rotate(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		eventually(t, "every member holds epoch 1", func() bool { return n.Node(i).Keys().Epoch == 1 })
	}
	there := write(t, n, 0, &crdt.SessionBody{Title: "After the rotation", Cap: 5})
	eventually(t, "the far island reads epoch 1 through the hub", func() bool { return has(n, 3, there) })
	back := write(t, n, 2, &crdt.GroupBody{Name: "Far table"})
	eventually(t, "and back", func() bool { return has(n, 1, back) })
	waitConverged(t, n)

	g := n.Node(0).Keys().Gathering
	ts := n.hub.Tickets(g)
	if len(ts) != 2 || ts[1] != n.Node(0).Keys().Ticket() {
		t.Fatalf("hub tickets: %+v", ts)
	}
	if _, err := os.Stat(filepath.Join(n.HubDir(), "tickets.json")); err != nil {
		t.Fatalf("the handed-over ticket is not kept: %v", err)
	}
	// What `convene status` prints on a member is the newest ticket.
	if !n.opts.Memory {
		dir := filepath.Join(n.dir, "node02")
		if tk, err := node.NewestTicket(dir); err != nil || tk != ts[1] {
			t.Errorf("newest ticket of a member: %v, %v", tk, err)
		}
	}
}
