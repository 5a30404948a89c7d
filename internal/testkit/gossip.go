package testkit

import (
	"context"
	"encoding/binary"
	"testing"

	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
)

// GossipPeer is a bare libp2p host on loopback with GossipSub and no
// validator, subscribed to topic (which announces it, so that nodes graft
// it): an outsider that publishes whatever a test likes. It closes with
// the test.
func GossipPeer(t testing.TB, topic string) (host.Host, *pubsub.Topic) {
	t.Helper()
	h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.DisableMetrics())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() {
		cancel()
		h.Close()
	})
	ps, err := pubsub.NewGossipSub(ctx, h, pubsub.WithFloodPublish(true))
	if err != nil {
		t.Fatal(err)
	}
	tp, err := ps.Join(topic)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tp.Subscribe(); err != nil {
		t.Fatal(err)
	}
	return h, tp
}

// Batch encodes operations as one gossip message, as an outsider that
// speaks the protocol would (version 1, uncompressed; see node/mesh's
// batch.go for the format).
func Batch(raws ...[]byte) []byte {
	b := []byte{1, 0}
	b = binary.AppendUvarint(b, uint64(len(raws)))
	for _, r := range raws {
		b = binary.AppendUvarint(b, uint64(len(r)))
		b = append(b, r...)
	}
	return b
}
