package testnet

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multiaddr"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/internal/testkit"
	"github.com/convene/convene/node/store"
)

// smallOrderForgery is issue 9 item 7: an operation of the gathering whose
// author key is the identity point (01 00…00), with R the identity and
// S = 0, which satisfies the verification equation of any message.
func smallOrderForgery(t testing.TB, raw []byte) []byte {
	t.Helper()
	identity := append([]byte{1}, make([]byte, 31)...)
	b := bytes.Clone(raw)
	copy(b[33:65], identity)
	sig := b[len(b)-64:]
	copy(sig, identity)
	clear(sig[32:])
	if _, err := crdt.DecodeEnvelope(b); err != nil {
		t.Fatalf("the forgery does not decode: %v", err)
	}
	return b
}

// TestGossipJunkBansTheSender: an outsider gossips operations only an
// outsider could make (a small-order forgery, and bad signatures). Every
// node rejects them, stores none, disconnects the outsider and refuses it
// when it comes back under the same peer id.
func TestGossipJunkBansTheSender(t *testing.T) {
	t.Parallel()
	n := newNet(t, Options{Nodes: 2})
	group := write(t, n, 0, &crdt.GroupBody{Name: "Tenants"})
	waitConverged(t, n)
	valid := rawOp(t, n, 0, group)

	junk := [][]byte{smallOrderForgery(t, valid)}
	for i := range 64 { // distinct forgeries, so that none is a duplicate
		b := bytes.Clone(valid)
		b[len(b)-1-i/8] ^= 1 << (i % 8)
		junk = append(junk, b)
	}
	at := newAttacker(t, n.Node(0).Gathering())
	at.connect(t, n)
	at.publish(t, testkit.Batch(junk...))

	for i := range n.Len() {
		id := at.waitDropped(t, n, i)
		if err := at.h.Connect(testContext(t), peer.AddrInfo{ID: id, Addrs: []multiaddr.Multiaddr{n.Addr(i)}}); err == nil {
			eventually(t, fmt.Sprintf("node %d to refuse the banned outsider", i), func() bool {
				return at.h.Network().Connectedness(id) != network.Connected
			})
		}
		for k, raw := range junk[:1] {
			e, _ := crdt.DecodeEnvelope(raw)
			if n.Node(i).Log().Contains(store.Item{Clock: e.Clock, ID: e.ID()}) {
				t.Errorf("node %d: forgery %d stored", i, k)
			}
		}
	}
}
