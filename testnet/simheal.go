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

// SimLAN is the simulated LAN of SimHeal: 1 ms each way, 100 Mbit/s up and
// down per laptop.
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

// SimHeal is HealPartition on go-libp2p's simulated network (SimLAN): real
// nodes (in-memory stores) and real meshes, whose libp2p hosts speak QUIC
// over simnet. It must run inside a testing/synctest bubble, where the
// clock moves only while every goroutine waits: Converge is then virtual
// time, the protocol's rounds, latency and bandwidth with the CPU work
// free, which is what the budget's "≤ 2 s of simulated time" measures.
//
// Each island is connected within itself (static peers) and to nothing
// else; its operations are written on its nodes and handed to all of them
// (as HealPartition does); then every cross-island pair is connected at
// once. Wire bytes are not counted (no proxy); ReconBytes are.
func SimHeal(ctx context.Context, dir string, opts HealOptions) (HealResult, error) {
	if opts.Island <= 0 {
		opts.Island = 25
	}
	if opts.OpsPerIsland <= 0 {
		opts.OpsPerIsland = 5000
	}
	size := opts.Island
	sn := &simnet.Simnet{LatencyFunc: simnet.StaticLatency(SimLAN.Latency)}
	sn.Start()
	defer sn.Close()
	quiet := slog.New(slog.DiscardHandler)

	nodes := make([]*node.Node, 2*size)
	meshes := make([]*mesh.Mesh, 2*size)
	defer func() {
		for i := range nodes {
			if meshes[i] != nil {
				meshes[i].Close()
			}
			if nodes[i] != nil {
				nodes[i].Close()
			}
		}
	}()
	var creds crdt.Credentials
	for i := range nodes {
		d := filepath.Join(dir, fmt.Sprintf("sim-%d", i))
		var err error
		if i == 0 {
			creds, err = node.Init(ctx, d, "Partition", "n0")
		} else {
			err = node.Join(ctx, d, creds, fmt.Sprintf("n%d", i))
		}
		if err != nil {
			return HealResult{}, err
		}
		if nodes[i], err = node.Open(ctx, node.Config{Dir: d, Memory: true, Logger: quiet}); err != nil {
			return HealResult{}, err
		}
	}
	addr := func(i int) multiaddr.Multiaddr {
		return multiaddr.StringCast(fmt.Sprintf("/ip4/10.1.%d.%d/udp/8000/quic-v1", i/250, i%250+1))
	}
	for i, nd := range nodes {
		m, err := mesh.New(ctx, mesh.Config{
			Key:          nd.PeerKey(),
			Listen:       []multiaddr.Multiaddr{addr(i)},
			SyncInterval: time.Hour, // only new connections reconcile: the heal's own
			Logger:       quiet,
			HostOptions:  []libp2p.Option{simlibp2p.QUICSimnet(sn, SimLAN.Link)},
		})
		if err != nil {
			return HealResult{}, err
		}
		meshes[i] = m
		if err := m.Join(ctx, nd); err != nil {
			return HealResult{}, err
		}
	}
	link := func(a, b int) error {
		h := meshes[b].Host()
		return meshes[a].Host().Connect(ctx, peer.AddrInfo{ID: h.ID(), Addrs: h.Addrs()})
	}
	islands := [][]int{make([]int, size), make([]int, size)}
	for i := range size {
		islands[0][i], islands[1][i] = i, size+i
	}
	for _, isl := range islands {
		for x, a := range isl {
			for _, b := range isl[x+1:] {
				if err := link(a, b); err != nil {
					return HealResult{}, err
				}
			}
		}
	}
	// What every node holds before the partition: a session, and a group
	// and a proposal per node, handed to every node as a bundle would be.
	session, err := nodes[0].Act(ctx, crdt.IdentityID{}, &crdt.SessionBody{Title: "Partition", Cap: 2 * size})
	if err != nil {
		return HealResult{}, err
	}
	if err := shareAll(ctx, nodes); err != nil {
		return HealResult{}, err
	}
	owns := make([]own, 2*size)
	for i, nd := range nodes {
		g, err := nd.Act(ctx, crdt.IdentityID{}, &crdt.GroupBody{Name: fmt.Sprintf("Table %d", i)})
		if err != nil {
			return HealResult{}, err
		}
		p, err := nd.Act(ctx, crdt.IdentityID{}, &crdt.ProposalBody{Session: session.ID, Group: g.ID, Text: fmt.Sprintf("The proposal of table %d, to be argued over", i)})
		if err != nil {
			return HealResult{}, err
		}
		owns[i] = own{g.ID, p.ID}
	}
	if err := shareAll(ctx, nodes); err != nil {
		return HealResult{}, err
	}

	missing := make([][][]byte, 2)
	for k, isl := range islands {
		raws, err := writeIsland(ctx, isl, opts.OpsPerIsland, func(i int) *node.Node { return nodes[i] }, owns)
		if err != nil {
			return HealResult{}, err
		}
		missing[k] = raws
		for _, i := range isl {
			if _, err := nodes[i].Ingest(ctx, missing[k]); err != nil {
				return HealResult{}, err
			}
		}
	}
	// Nothing was published until now, as in HealPartition, where gossip
	// is off while the islands write: in virtual time the writes take no
	// time, and GossipSub would otherwise still offer them (IHAVE) to the
	// other island at the heal, which a partition longer than its message
	// cache's few seconds never sees.
	for i, nd := range nodes {
		nd.SetPublisher(meshes[i])
	}
	res := HealResult{Nodes: 2 * size, OpsPerIsland: opts.OpsPerIsland}
	if err := res.setBudget(missing, size); err != nil {
		return HealResult{}, err
	}

	stats := func() (s mesh.Stats) {
		for _, m := range meshes {
			t := m.Stats()
			s.Sessions += t.Sessions
			s.BytesSent += t.BytesSent
			s.ReconMsgBytes += t.ReconMsgBytes
			s.RequestBytes += t.RequestBytes
			s.PushBytes += t.PushBytes
			s.OpsSent += t.OpsSent
		}
		return s
	}
	s0 := stats()
	start := time.Now()
	// At once, as laptops that find each other dial in parallel: one
	// after another, the 625 handshakes of 25 × 25 took 2.75 s of virtual
	// time on their own, longer than the heal.
	var wg sync.WaitGroup
	errs := make(chan error, len(islands[0])*len(islands[1]))
	for _, a := range islands[0] {
		for _, b := range islands[1] {
			wg.Go(func() {
				if err := link(a, b); err != nil {
					errs <- err
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return HealResult{}, err
	}
	for !converged(nodes) {
		if err := ctx.Err(); err != nil {
			return HealResult{}, err
		}
		time.Sleep(time.Millisecond)
	}
	res.Converge = time.Since(start)
	s1 := stats()
	res.ReconBytes = s1.BytesSent - s0.BytesSent
	res.ReconMsgBytes = s1.ReconMsgBytes - s0.ReconMsgBytes
	res.RequestBytes = s1.RequestBytes - s0.RequestBytes
	res.PushBytes = s1.PushBytes - s0.PushBytes
	res.Sessions = s1.Sessions - s0.Sessions
	res.OpsPushed = s1.OpsSent - s0.OpsSent
	return res, nil
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
