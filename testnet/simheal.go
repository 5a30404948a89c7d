package testnet

import (
	"context"
	"fmt"
	"time"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/node"
	"github.com/convene/convene/node/mesh"
)

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
	room, err := newSimRoom(ctx, dir, "Partition", 2*size, mesh.Config{
		SyncInterval: time.Hour, // only new connections reconcile: the heal's own
	})
	defer room.close()
	if err != nil {
		return HealResult{}, err
	}
	nodes := room.nodes
	islands := [][]int{make([]int, size), make([]int, size)}
	for i := range size {
		islands[0][i], islands[1][i] = i, size+i
	}
	for _, isl := range islands {
		for x, a := range isl {
			for _, b := range isl[x+1:] {
				if err := room.link(ctx, a, b); err != nil {
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
	room.publish()
	res := HealResult{Nodes: 2 * size, OpsPerIsland: opts.OpsPerIsland}
	if err := res.setBudget(missing, size); err != nil {
		return HealResult{}, err
	}

	var pairs [][2]int
	for _, a := range islands[0] {
		for _, b := range islands[1] {
			pairs = append(pairs, [2]int{a, b})
		}
	}
	s0 := room.stats()
	start := time.Now()
	if err := room.linkAll(ctx, pairs); err != nil {
		return HealResult{}, err
	}
	for !converged(nodes) {
		if err := ctx.Err(); err != nil {
			return HealResult{}, err
		}
		time.Sleep(time.Millisecond)
	}
	res.Converge = time.Since(start)
	s1 := room.stats()
	res.ReconBytes = s1.BytesSent - s0.BytesSent
	res.ReconMsgBytes = s1.ReconMsgBytes - s0.ReconMsgBytes
	res.RequestBytes = s1.RequestBytes - s0.RequestBytes
	res.PushBytes = s1.PushBytes - s0.PushBytes
	res.Sessions = s1.Sessions - s0.Sessions
	res.OpsPushed = s1.OpsSent - s0.OpsSent
	return res, nil
}
