package testnet

import (
	"fmt"
	"testing"
	"time"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/testnet/link"
)

// Three nodes whose every link is a slow, lossy inter-city line (1 Mbit/s,
// 150 ms, 20 ms of jitter, 2 % loss each way, from package link) write and
// converge; the bytes crossed the shaped links.
func TestSlowLossyLinksConverge(t *testing.T) {
	t.Parallel()
	shape := link.Shape{Rate: 1_000_000, Delay: 150 * time.Millisecond, Jitter: 20 * time.Millisecond, Loss: 0.02}
	n := newNet(t, Options{Nodes: 3, Links: true, Shape: shape})
	session := write(t, n, 0, &crdt.SessionBody{Title: "Across the country", Cap: 10})
	for i := range 3 {
		eventually(t, fmt.Sprintf("the session at node %d", i), func() bool { return has(n, i, session) })
		group := write(t, n, i, &crdt.GroupBody{Name: fmt.Sprintf("City %d", i)})
		write(t, n, i, &crdt.ProposalBody{Session: session, Group: group, Text: fmt.Sprintf("Idea of city %d", i)})
	}
	waitConverged(t, n)
	if d := sameDocuments(t, n, session); len(d.Proposals) != 3 {
		t.Errorf("%d proposals, want 3", len(d.Proposals))
	}
	if n.WireBytes() == 0 {
		t.Error("no bytes went through the shaped links")
	}
}
