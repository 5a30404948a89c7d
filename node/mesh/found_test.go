package mesh

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multiaddr"
)

// TestFoundPeerDialBackoff: a peer announced on the LAN (mDNS: anyone can
// announce any id at any address) that never answered is not redialled
// every second past libp2p's dial backoff, as a peer lost moments ago is:
// a made-up announcement must not turn the node into a dialler of some
// address.
func TestFoundPeerDialBackoff(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var conns atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			c.Close()
		}
	}()
	key, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(context.Background(), Config{
		Key:          key,
		Listen:       []multiaddr.Multiaddr{multiaddr.StringCast("/ip4/127.0.0.1/tcp/0")},
		SyncInterval: time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	addr := multiaddr.StringCast(fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", ln.Addr().(*net.TCPAddr).Port))
	m.dialNew(peer.AddrInfo{ID: newPeerID(t), Addrs: []multiaddr.Multiaddr{addr}}, ViaMDNS)
	time.Sleep(4500 * time.Millisecond)
	if n := conns.Load(); n > 2 {
		t.Errorf("a found peer that never answered was dialled %d times in 4.5 s", n)
	}
}
