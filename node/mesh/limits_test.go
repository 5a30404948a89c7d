package mesh

import (
	"crypto/rand"
	"fmt"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
	"github.com/libp2p/go-libp2p/p2p/protocol/ping"
	"github.com/multiformats/go-multiaddr"
)

// libp2p exempts loopback from its per-address limits, so tests on
// 127.0.0.1 cannot show them. These tests open connection scopes from one
// LAN address instead, as a hub sees a venue behind one NAT.
func openFrom(t *testing.T, rm network.ResourceManager, ip string, n int) int {
	t.Helper()
	opened := 0
	for i := range n {
		a := multiaddr.StringCast(fmt.Sprintf("/ip4/%s/tcp/%d", ip, 10000+i))
		scope, err := rm.OpenConnection(network.DirInbound, true, a)
		if err != nil {
			t.Logf("connection %d from %s refused: %v", i+1, ip, err)
			break
		}
		defer scope.Done()
		// The handshake names the peer, moving the connection out of
		// the transient scope, as a real one does.
		if err := scope.SetPeer(newPeerID(t)); err != nil {
			t.Logf("connection %d from %s: %v", i+1, ip, err)
			break
		}
		opened++
	}
	return opened
}

func newPeerID(t testing.TB) peer.ID {
	_, pub, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestVenueLimitsAdmitOneNAT(t *testing.T) {
	const laptops = 200
	for _, hub := range []bool{false, true} {
		t.Run(fmt.Sprintf("hub=%v", hub), func(t *testing.T) {
			rm, err := venueLimits(hub).resourceManager()
			if err != nil {
				t.Fatal(err)
			}
			defer rm.Close()
			if got := openFrom(t, rm, "192.0.2.7", laptops); got != laptops {
				t.Errorf("admitted %d of %d connections from one address", got, laptops)
			}
		})
	}
	// The check is sharp: libp2p's defaults refuse the same venue.
	def := rcmgr.DefaultLimits
	rm, err := rcmgr.NewResourceManager(rcmgr.NewFixedLimiter(def.AutoScale()), rcmgr.WithMetricsDisabled())
	if err != nil {
		t.Fatal(err)
	}
	defer rm.Close()
	if got := openFrom(t, rm, "192.0.2.7", laptops); got >= laptops {
		t.Errorf("default limits admitted all %d connections; the test shows nothing", got)
	}
}

func TestVenueLimitValues(t *testing.T) {
	for _, hub := range []bool{false, true} {
		l := venueLimits(hub)
		sys := l.scaled.ToPartialLimitConfig().System
		if c := sys.Conns.Build(0); c < 512 {
			t.Errorf("hub=%v: system connection limit %d", hub, c)
		}
		if c := l.connV4[0].ConnCount; c < 256 {
			t.Errorf("hub=%v: %d connections per IPv4 address", hub, c)
		}
		if b := l.rate.SubnetRateLimiter.IPv4SubnetLimits[0].Burst; b < 256 {
			t.Errorf("hub=%v: connection burst per IPv4 address %d", hub, b)
		}
		if l.connHigh <= l.connLow || l.connLow < 64 {
			t.Errorf("hub=%v: connection manager watermarks %d/%d", hub, l.connLow, l.connHigh)
		}
		// Every connected peer keeps a ping stream open each way.
		pings := l.scaled.ToPartialLimitConfig().Protocol[ping.ID]
		svc := l.scaled.ToPartialLimitConfig().Service[ping.ServiceName]
		for _, v := range []rcmgr.LimitVal{pings.StreamsInbound, pings.StreamsOutbound, svc.StreamsInbound, svc.StreamsOutbound} {
			if n := v.Build(0); n < l.connHigh {
				t.Errorf("hub=%v: %d ping streams for up to %d connections", hub, n, l.connHigh)
			}
		}
	}
	if l := venueLimits(true); l.relay.Limit != nil || l.relay.MaxReservationsPerIP < 256 {
		t.Errorf("hub relay limits %+v: relayed connections would be limited", l.relay)
	}
}
