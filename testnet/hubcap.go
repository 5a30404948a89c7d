package testnet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/metrics"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multiaddr"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/internal/gate"
	"github.com/convene/convene/node"
	"github.com/convene/convene/node/mesh"
)

// HubCapOptions size a hub-capacity run (issue 11 item 6): one hub serving
// Gatherings gatherings of Laptops laptops each, every laptop writing Ops
// operations once all are connected.
type HubCapOptions struct {
	Gatherings, Laptops, Ops int
	Dir                      string // the laptops' data directories go here
	// StartHub starts the hub serving these tickets and returns its
	// address with /p2p/ID. The benchmark execs `convene relay`; the test
	// opens node.OpenRelay in its own process.
	StartHub func(ctx context.Context, tickets []crdt.Ticket) (multiaddr.Multiaddr, error)
	// Writing, if set, is called once every laptop has reconciled with the
	// hub, just before the writes: the caller reads the hub's CPU there.
	Writing func()
	// Converged, if set, is called as soon as every laptop holds every
	// operation, with all connections still up: the caller reads the hub's
	// CPU, descriptors and goroutines there.
	Converged func()
	// Progress, if set, is told when each phase begins.
	Progress func(phase string)
	Logger   *slog.Logger
}

// HubCapResult is what a hub-capacity run measured.
type HubCapResult struct {
	Ops      int           // operations written in the measured phase, all gatherings
	Converge time.Duration // first write → every laptop of every gathering holds the same log
	// The hub's traffic from the first write to convergence, as counted on
	// the laptops' side of their connections to it (stream payload; the
	// transport's encryption and framing are not counted).
	BytesIn, BytesOut int64
}

// HubCapacity runs the hub-capacity measurement. The laptops are real
// nodes with in-memory stores and real libp2p hosts in this process, each
// allowed to connect only to the hub, so every operation travels laptop →
// hub (door, signatures, store) → laptops, by gossip or reconciliation.
func HubCapacity(ctx context.Context, opts HubCapOptions) (_ HubCapResult, err error) {
	if opts.Gatherings < 1 || opts.Laptops < 2 || opts.Ops < 1 || opts.StartHub == nil {
		return HubCapResult{}, errors.New("testnet: hub capacity needs gatherings, two laptops, ops and a hub")
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	type gathering struct {
		nodes  []*node.Node
		owns   [][2]crdt.OpID // each laptop's group and proposal
		expect int
	}
	progress := func(string) {}
	if opts.Progress != nil {
		progress = opts.Progress
	}
	progress("making the gatherings")
	gs := make([]*gathering, opts.Gatherings)
	var all []*node.Node
	var meshes []*mesh.Mesh
	defer func() {
		var wg sync.WaitGroup
		for _, m := range meshes {
			wg.Go(func() { m.Close() })
		}
		wg.Wait()
		for _, nd := range all {
			nd.Close()
		}
	}()
	// Each gathering starts as simheal's do: a session, then a group and a
	// proposal per laptop, handed to every laptop as a bundle would be.
	tickets := make([]crdt.Ticket, opts.Gatherings)
	for k := range gs {
		g := &gathering{}
		gs[k] = g
		var creds crdt.Credentials
		for i := range opts.Laptops {
			dir := filepath.Join(opts.Dir, fmt.Sprintf("g%03d-l%d", k, i))
			if i == 0 {
				creds, err = node.Init(ctx, dir, fmt.Sprintf("Gathering %d", k), "organizer")
			} else {
				err = node.Join(ctx, dir, creds, fmt.Sprintf("participant-%d", i))
			}
			if err != nil {
				return HubCapResult{}, fmt.Errorf("testnet: gathering %d laptop %d: %w", k, i, err)
			}
			nd, err := node.Open(ctx, node.Config{Dir: dir, Memory: true, Logger: log})
			if err != nil {
				return HubCapResult{}, fmt.Errorf("testnet: open gathering %d laptop %d: %w", k, i, err)
			}
			g.nodes = append(g.nodes, nd)
			all = append(all, nd)
		}
		tickets[k] = g.nodes[0].Keys().Ticket()
		session, err := g.nodes[0].Act(ctx, crdt.IdentityID{}, &crdt.SessionBody{Title: "Plenary", Cap: 2 * opts.Laptops})
		if err != nil {
			return HubCapResult{}, err
		}
		if err := shareAll(ctx, g.nodes); err != nil {
			return HubCapResult{}, err
		}
		for i, nd := range g.nodes {
			grp, err := nd.Act(ctx, crdt.IdentityID{}, &crdt.GroupBody{Name: fmt.Sprintf("Table %d", i)})
			if err != nil {
				return HubCapResult{}, err
			}
			p, err := nd.Act(ctx, crdt.IdentityID{}, &crdt.ProposalBody{Session: session.ID, Group: grp.ID, Text: fmt.Sprintf("The proposal of table %d, to be argued over", i)})
			if err != nil {
				return HubCapResult{}, err
			}
			g.owns = append(g.owns, [2]crdt.OpID{grp.ID, p.ID})
		}
		if err := shareAll(ctx, g.nodes); err != nil {
			return HubCapResult{}, err
		}
		g.expect = g.nodes[0].Log().Len() + opts.Laptops*opts.Ops
	}

	progress("starting the hub")
	hub, err := opts.StartHub(ctx, tickets)
	if err != nil {
		return HubCapResult{}, fmt.Errorf("testnet: start hub: %w", err)
	}
	hubInfo, err := peer.AddrInfoFromP2pAddr(hub)
	if err != nil {
		return HubCapResult{}, fmt.Errorf("testnet: hub address: %w", err)
	}
	// One counter for every laptop: its figures for the hub's peer id are
	// the hub's traffic, in reverse.
	bw := metrics.NewBandwidthCounter()
	progress("connecting the laptops")
	for _, nd := range all {
		m, err := nd.Connect(ctx, mesh.Config{
			Listen: []multiaddr.Multiaddr{multiaddr.StringCast("/ip4/127.0.0.1/tcp/0")},
			Hubs:   []multiaddr.Multiaddr{hub},
			// Laptops reach each other only through the hub, so that it
			// carries every operation.
			Gater:     gate.Gater{Peer: func(p peer.ID) bool { return p == hubInfo.ID }},
			Logger:    log,
			Bandwidth: bw,
		})
		if err != nil {
			return HubCapResult{}, fmt.Errorf("testnet: connect a laptop: %w", err)
		}
		meshes = append(meshes, m)
	}
	progress("waiting for every laptop to reconcile with the hub")
	if err := waitUntil(ctx, 10*time.Minute, func() bool {
		for _, m := range meshes {
			synced := false
			for _, p := range m.Peers() {
				synced = synced || (p.PeerID == hubInfo.ID.String() && !p.LastSync.IsZero())
			}
			if !synced {
				return false
			}
		}
		return true
	}); err != nil {
		return HubCapResult{}, fmt.Errorf("testnet: laptops reconciling with the hub: %w", err)
	}

	// GossipSub grafts its mesh at its heartbeat (1 s): an operation
	// published before then reaches the other laptops only by the hub's
	// gossip or the next reconciliation, which is not what a room that has
	// been connected for a minute sees. The bandwidth counter's totals also
	// move once a second.
	if err := sleep(ctx, 3*time.Second); err != nil {
		return HubCapResult{}, err
	}
	if opts.Writing != nil {
		opts.Writing()
	}
	progress("writing")
	before := bw.GetBandwidthForPeer(hubInfo.ID)
	start := time.Now()
	// Laptops write in turn from a few writers at once, as a room's
	// laptops would, not all 500 in one instant.
	type job struct {
		g *gathering
		i int
	}
	jobs := make(chan job)
	errs := make(chan error, 8)
	var wg sync.WaitGroup
	for range cap(errs) {
		wg.Go(func() {
			for j := range jobs {
				o := j.g.owns
				_, err := writeShare(ctx, j.g.nodes[j.i], opts.Ops, o[j.i][0], o[j.i][1], o[(j.i+1)%len(o)][1])
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for i := range opts.Laptops {
		for _, g := range gs {
			jobs <- job{g, i}
		}
	}
	close(jobs)
	wg.Wait()
	close(errs)
	if err := errors.Join(<-errs); err != nil {
		return HubCapResult{}, fmt.Errorf("testnet: write: %w", err)
	}
	progress("waiting for convergence")
	if err := waitUntil(ctx, 10*time.Minute, func() bool {
		for _, g := range gs {
			d := g.nodes[0].Log().Digest()
			for _, nd := range g.nodes {
				if nd.Log().Len() < g.expect || nd.Log().Digest() != d {
					return false
				}
			}
		}
		return true
	}); err != nil {
		return HubCapResult{}, fmt.Errorf("testnet: laptops converging through the hub: %w", err)
	}
	res := HubCapResult{Ops: opts.Gatherings * opts.Laptops * opts.Ops, Converge: time.Since(start)}
	if opts.Converged != nil {
		opts.Converged()
	}
	if err := sleep(ctx, 2*time.Second); err != nil { // the counter's last sweep
		return HubCapResult{}, err
	}
	after := bw.GetBandwidthForPeer(hubInfo.ID)
	// The laptops' out is the hub's in.
	res.BytesIn = after.TotalOut - before.TotalOut
	res.BytesOut = after.TotalIn - before.TotalIn
	return res, nil
}

// waitUntil polls cond every 50 ms until it holds, ctx ends or limit
// passes.
func waitUntil(ctx context.Context, limit time.Duration, cond func() bool) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// OpenHub opens an in-process relay in dir serving tickets on loopback,
// as `convene relay` does, and returns it with its address (/p2p/ID).
func OpenHub(ctx context.Context, dir string, tickets []crdt.Ticket, log *slog.Logger) (*node.Relay, multiaddr.Multiaddr, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("testnet: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r, err := node.OpenRelay(ctx, node.RelayConfig{
		Dir:        dir,
		Gatherings: tickets,
		Mesh:       mesh.Config{Listen: []multiaddr.Multiaddr{multiaddr.StringCast("/ip4/127.0.0.1/tcp/0")}, Logger: log},
		Logger:     log,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("testnet: open hub: %w", err)
	}
	addrs := r.Mesh().Addrs()
	if len(addrs) == 0 {
		r.Close()
		return nil, nil, errors.New("testnet: the hub has no address")
	}
	a, err := multiaddr.NewMultiaddr(addrs[0])
	if err != nil {
		r.Close()
		return nil, nil, fmt.Errorf("testnet: hub address: %w", err)
	}
	return r, a, nil
}
