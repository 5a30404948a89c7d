package mesh

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multiaddr"
)

// counter is a plain TCP listener that counts the connections it accepts.
type counter struct {
	l net.Listener
	n atomic.Int64
}

func listenCounting(t *testing.T, addr string) *counter {
	t.Helper()
	l, err := net.Listen("tcp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	c := &counter{l: l}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			c.n.Add(1)
			conn.Close()
		}
	}()
	return c
}

// lanIP is an IPv4 address of this machine outside loopback.
func lanIP(t *testing.T) netip.Addr {
	addrs, _ := net.InterfaceAddrs()
	for _, n := range addrs {
		if ipn, ok := n.(*net.IPNet); ok {
			if a, ok := netip.AddrFromSlice(ipn.IP); ok && a.Unmap().Is4() && !a.IsLoopback() && a.IsGlobalUnicast() {
				return a.Unmap()
			}
		}
	}
	t.Skip("no IPv4 address outside loopback")
	return netip.Addr{}
}

// TestHostilePEXAnswer is issue 9 item 4: a peer that the member reaches
// by the machine's LAN address (as another laptop) answers peer exchange
// with plain TCP listeners on 127.0.0.1, services of the member's own
// machine. The member dials none of them. A listener on the LAN address,
// listed too, is dialled: that shows the answer was read and acted on.
func TestHostilePEXAnswer(t *testing.T) {
	ip := lanIP(t)
	var lo []*counter
	var listed []multiaddr.Multiaddr
	for range 3 {
		c := listenCounting(t, "127.0.0.1:0")
		lo = append(lo, c)
		listed = append(listed, multiaddr.StringCast(fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", c.l.Addr().(*net.TCPAddr).Port)))
	}
	control := listenCounting(t, ip.String()+":0")
	controlAddr := multiaddr.StringCast(fmt.Sprintf("/ip4/%s/tcp/%d", ip, control.l.Addr().(*net.TCPAddr).Port))

	var infos []peer.AddrInfo
	for _, a := range listed {
		infos = append(infos, peer.AddrInfo{ID: newPeerID(t), Addrs: []multiaddr.Multiaddr{a}})
	}
	infos = append(infos, peer.AddrInfo{ID: newPeerID(t), Addrs: []multiaddr.Multiaddr{controlAddr}})
	answer := encodePEX(infos)

	h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/"+ip.String()+"/tcp/0"), libp2p.DisableMetrics())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	var answered atomic.Int64
	h.SetStreamHandler(pexProto, func(s network.Stream) {
		defer s.Close()
		answered.Add(1)
		_, _ = s.Write(answer)
	})

	key, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	m, err := New(ctx, Config{
		Key: key,
		// On all interfaces, so that its dials may leave from any of them.
		Listen:       []multiaddr.Multiaddr{multiaddr.StringCast("/ip4/0.0.0.0/tcp/0")},
		SyncInterval: 100 * time.Millisecond,
		Logger:       slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	if err := m.h.Connect(ctx, peer.AddrInfo{ID: h.ID(), Addrs: h.Addrs()}); err != nil {
		t.Fatal(err)
	}
	// Loopback addresses are dialled without the delay the dial ranker
	// gives others: had they passed, they would be dialled by now.
	for control.n.Load() == 0 || answered.Load() < 3 {
		if ctx.Err() != nil {
			t.Fatalf("the member asked %d times and dialled the LAN listener %d times", answered.Load(), control.n.Load())
		}
		time.Sleep(20 * time.Millisecond)
	}
	dials := int64(0)
	for _, c := range lo {
		dials += c.n.Load()
	}
	if dials != 0 {
		t.Errorf("a hostile answer made the member dial loopback %d times, want 0", dials)
	}
}
