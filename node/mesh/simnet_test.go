package mesh_test

import (
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/x/simlibp2p"
	"github.com/marcopolo/simnet"
	"github.com/multiformats/go-multiaddr"

	"github.com/convene/convene/node"
	"github.com/convene/convene/node/mesh"
)

// lanLink is a laptop's link on a LAN: 100 Mbit/s each way.
var lanLink = simnet.NodeBiDiLinkSettings{
	Downlink: simnet.LinkSettings{BitsPerSecond: 100 * simlibp2p.OneMbps},
	Uplink:   simnet.LinkSettings{BitsPerSecond: 100 * simlibp2p.OneMbps},
}

// simMesh starts a member mesh for n on the simulated network sn, at the
// i-th simulated address.
func simMesh(t *testing.T, sn *simnet.Simnet, n *node.Node, i int) *mesh.Mesh {
	t.Helper()
	addr := multiaddr.StringCast(fmt.Sprintf("/ip4/10.0.%d.%d/udp/8000/quic-v1", i/250, i%250+1))
	return member(t, n, mesh.Config{
		Listen:      []multiaddr.Multiaddr{addr},
		HostOptions: []libp2p.Option{simlibp2p.QUICSimnet(sn, lanLink)},
	})
}

// TestSimnetHeal runs real nodes and meshes over go-libp2p's simulated
// network (1 ms each way, 100 Mbit/s) in virtual time: two islands that
// wrote apart converge once every link is made. It asserts convergence,
// not how long it took (the benchmark reports the virtual time).
func TestSimnetHeal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sn := &simnet.Simnet{LatencyFunc: simnet.StaticLatency(time.Millisecond)}
		sn.Start()
		t.Cleanup(func() { sn.Close() }) // after the meshes' cleanups, which run first
		first, creds := newGathering(t)
		nodes := []*node.Node{first}
		for i := 1; i < 4; i++ {
			nodes = append(nodes, joinNode(t, creds, fmt.Sprintf("n%d", i)))
		}
		meshes := make([]*mesh.Mesh, len(nodes))
		for i, n := range nodes {
			meshes[i] = simMesh(t, sn, n, i)
		}
		// Two islands of two, each writing apart.
		connect(t, meshes[0], meshes[1])
		connect(t, meshes[2], meshes[3])
		act(t, nodes[0], "left", 40)
		act(t, nodes[3], "right", 40)
		waitConverged(t, nodes[0], nodes[1])
		waitConverged(t, nodes[2], nodes[3])
		start := time.Now()
		for i := range 2 {
			for j := 2; j < 4; j++ {
				connect(t, meshes[i], meshes[j])
			}
		}
		waitConverged(t, nodes...)
		t.Logf("converged in %s of virtual time", time.Since(start))
	})
}

// TestGossipPeers: GossipPeers follows the GossipSub mesh, on the
// simulated network in virtual time: three connected nodes mesh with each
// other, and a node that leaves drops out of the others' meshes (GossipSub
// removes a gone peer without a prune).
func TestGossipPeers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sn := &simnet.Simnet{LatencyFunc: simnet.StaticLatency(time.Millisecond)}
		sn.Start()
		t.Cleanup(func() { sn.Close() })
		first, creds := newGathering(t)
		nodes := []*node.Node{first, joinNode(t, creds, "n1"), joinNode(t, creds, "n2")}
		meshes := make([]*mesh.Mesh, len(nodes))
		for i, n := range nodes {
			meshes[i] = simMesh(t, sn, n, i)
		}
		g := first.Gathering()
		if topic, m := meshes[0].GossipPeers(g); topic != 0 || m != 0 {
			t.Fatalf("before any connection: %d on the topic, %d in the mesh", topic, m)
		}
		connect(t, meshes[0], meshes[1])
		connect(t, meshes[0], meshes[2])
		connect(t, meshes[1], meshes[2])
		meshed := func(ms []*mesh.Mesh, want int) func() bool {
			return func() bool {
				for _, m := range ms {
					if topic, mp := m.GossipPeers(g); topic != want || mp != want {
						return false
					}
				}
				return true
			}
		}
		waitFor(t, "every node in the others' meshes", meshed(meshes, 2))
		meshes[2].Close()
		waitFor(t, "the closed node out of the others' meshes", meshed(meshes[:2], 1))
	})
}
