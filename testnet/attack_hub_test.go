package testnet

import (
	"encoding/binary"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/internal/testkit"
)

// TestHubPoisoning is issue 9 item 1: an outsider who knows the id gossips
// 400 operations of its own making, and one stamped in the year 2100, at a
// hub started from a ticket. The hub stores none (so members have nothing
// to fetch again, round after round) and disconnects the outsider.
func TestHubPoisoning(t *testing.T) {
	t.Parallel()
	n := newNet(t, Options{Nodes: 2, Hub: true})
	group := write(t, n, 0, &crdt.GroupBody{Name: "Tenants"})
	waitConverged(t, n)
	valid := rawOp(t, n, 0, group)
	hubOps := func() int { return n.Hub().Gatherings()[0].Ops }
	eventually(t, "the hub to hold the member's operation", func() bool { return hubOps() >= 1 })
	before := hubOps()

	future := resealed(t, valid)
	// The clock follows the gathering and the author (see crdt's envelope
	// encoding); 2100-01-01 in Unix ms.
	binary.BigEndian.PutUint64(future[65:73], 4102444800000)
	if e, err := crdt.DecodeEnvelope(future); err != nil || e.Clock.Wall != 4102444800000 {
		t.Fatalf("the future operation: %v, %v", e, err)
	}
	junk := [][]byte{future}
	bytes := len(future)
	for range 400 {
		j := resealed(t, valid)
		junk = append(junk, j)
		bytes += len(j)
	}
	at := newAttacker(t, n.Node(0).Gathering())
	hub, err := peer.AddrInfoFromP2pAddr(n.Addr(n.hubIndex()))
	if err != nil {
		t.Fatal(err)
	}
	if err := at.h.Connect(testContext(t), *hub); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the hub on the attacker's topic", func() bool {
		for _, p := range at.topic.ListPeers() {
			if p == hub.ID {
				return true
			}
		}
		return false
	})
	for lo := 0; lo < len(junk); lo += 64 {
		// A message published after the disconnect goes nowhere; that is
		// the defence, not a failure.
		_ = at.topic.Publish(testContext(t), testkit.Batch(junk[lo:min(lo+64, len(junk))]...))
	}
	at.waitDropped(t, n, n.hubIndex())
	stored := hubOps() - before
	t.Logf("hub: %d junk operations (%d bytes, one stamped 2100) gossiped: %d stored, outsider disconnected", len(junk), bytes, stored)
	if stored != 0 {
		t.Fatalf("the hub stored %d junk operations", stored)
	}
	waitConverged(t, n)
}
