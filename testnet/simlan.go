package testnet

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/x/simlibp2p"
	"github.com/marcopolo/simnet"
	"github.com/multiformats/go-multiaddr"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/node"
	"github.com/convene/convene/node/mesh"
)

// SimLAN is the simulated LAN of SimHeal and SimLatency: 1 ms each way,
// 100 Mbit/s up and down per laptop.
var SimLAN = struct {
	Latency time.Duration
	Link    simnet.NodeBiDiLinkSettings
}{
	Latency: time.Millisecond,
	Link: simnet.NodeBiDiLinkSettings{
		Downlink: simnet.LinkSettings{BitsPerSecond: 100 * simlibp2p.OneMbps},
		Uplink:   simnet.LinkSettings{BitsPerSecond: 100 * simlibp2p.OneMbps},
	},
}

// simRoom is one gathering of real nodes (in-memory stores), each with a
// real mesh whose libp2p host speaks QUIC over go-libp2p's simulated
// network (SimLAN). It must live inside a testing/synctest bubble.
type simRoom struct {
	sn     *simnet.Simnet
	nodes  []*node.Node
	meshes []*mesh.Mesh
}

// newSimRoom makes a gathering of n nodes under dir, the first by
// node.Init (named name), the others by node.Join, and starts a mesh for
// each, joined to its node, at its own simulated address, with cfg's
// settings (Key, Listen, Logger and HostOptions are the room's). Nothing is
// connected and nothing is published yet (see publish). Close the room
// even when this fails.
func newSimRoom(ctx context.Context, dir, name string, n int, cfg mesh.Config) (*simRoom, error) {
	r := &simRoom{
		sn:     &simnet.Simnet{LatencyFunc: simnet.StaticLatency(SimLAN.Latency)},
		nodes:  make([]*node.Node, n),
		meshes: make([]*mesh.Mesh, n),
	}
	r.sn.Start()
	quiet := slog.New(slog.DiscardHandler)
	var creds crdt.Credentials
	for i := range r.nodes {
		d := filepath.Join(dir, fmt.Sprintf("sim-%d", i))
		var err error
		if i == 0 {
			creds, err = node.Init(ctx, d, name, "n0")
		} else {
			err = node.Join(ctx, d, creds, fmt.Sprintf("n%d", i))
		}
		if err != nil {
			return r, err
		}
		if r.nodes[i], err = node.Open(ctx, node.Config{Dir: d, Memory: true, Logger: quiet}); err != nil {
			return r, err
		}
	}
	for i, nd := range r.nodes {
		c := cfg
		c.Key = nd.PeerKey()
		c.Listen = []multiaddr.Multiaddr{multiaddr.StringCast(fmt.Sprintf("/ip4/10.1.%d.%d/udp/8000/quic-v1", i/250, i%250+1))}
		c.Logger = quiet
		c.HostOptions = []libp2p.Option{simlibp2p.QUICSimnet(r.sn, SimLAN.Link)}
		m, err := mesh.New(ctx, c)
		if err != nil {
			return r, err
		}
		r.meshes[i] = m
		if err := m.Join(ctx, nd); err != nil {
			return r, err
		}
	}
	return r, nil
}

// close stops every mesh and node, then the simulated network.
func (r *simRoom) close() {
	for i := range r.nodes {
		if r.meshes[i] != nil {
			r.meshes[i].Close()
		}
		if r.nodes[i] != nil {
			r.nodes[i].Close()
		}
	}
	r.sn.Close()
}

// publish lets every node gossip its own operations from now on.
func (r *simRoom) publish() {
	for i, nd := range r.nodes {
		nd.SetPublisher(r.meshes[i])
	}
}

// link connects node a to node b.
func (r *simRoom) link(ctx context.Context, a, b int) error {
	h := r.meshes[b].Host()
	return r.meshes[a].Host().Connect(ctx, peer.AddrInfo{ID: h.ID(), Addrs: h.Addrs()})
}

// linkAll connects every pair at once, as laptops that find each other
// dial in parallel: one after another, the 625 handshakes of 25 × 25 took
// 2.75 s of virtual time on their own.
func (r *simRoom) linkAll(ctx context.Context, pairs [][2]int) error {
	var wg sync.WaitGroup
	errs := make(chan error, len(pairs))
	for _, p := range pairs {
		wg.Go(func() {
			if err := r.link(ctx, p[0], p[1]); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// stats sums the meshes' reconciliation counters.
func (r *simRoom) stats() (s mesh.Stats) {
	for _, m := range r.meshes {
		s = s.Plus(m.Stats())
	}
	return s
}

// shareAll gives every node what any holds.
func shareAll(ctx context.Context, nodes []*node.Node) error {
	var raws [][]byte
	for _, nd := range nodes {
		if err := nd.Log().Iterate(ctx, func(e *crdt.Envelope) error {
			raws = append(raws, e.Bytes())
			return nil
		}); err != nil {
			return err
		}
	}
	for _, nd := range nodes {
		if _, err := nd.Ingest(ctx, raws); err != nil {
			return err
		}
	}
	return nil
}

func converged(nodes []*node.Node) bool {
	d := nodes[0].Log().Digest()
	for _, n := range nodes[1:] {
		if n.Log().Digest() != d {
			return false
		}
	}
	return true
}
