// Package testnet runs many real convene nodes in one process: each a
// node.Node with its own store and a libp2p host on loopback, replicating
// through the real mesh. A Net joins them, cuts them into islands, delays
// their links, loses their gossip on purpose, heals them and waits until
// every node holds the same operations (equal digests).
//
// Partitions are cut with a connection gater on every host (refusing peers
// outside the host's island) and by closing the connections that cross the
// cut: with real hosts, gating alone leaves the existing connections up.
//
// Latency is injected by a TCP proxy in front of every node, which also
// counts the bytes on the wire; with Options.Links the gaters refuse direct
// addresses, so every connection goes through a proxy.
//
// Over 500 lines: the Net's life (start, islands, links, hubs, stop) is one
// state held under one lock, and splitting it would spread that lock.
package testnet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/node"
	"github.com/convene/convene/node/mesh"
	"github.com/convene/convene/testnet/link"
)

// Options say how to build a Net.
type Options struct {
	Nodes int // how many nodes; at least 1
	// Dir holds the nodes' data directories; empty: a temporary directory
	// removed by Close.
	Dir string
	// Memory keeps operations in memory (big benchmarks); otherwise each
	// node has the real pebble store.
	Memory bool
	// Hub adds a relay that knows only the gathering id. Every island may
	// reach it; the nodes name it in mesh.Config.Hubs.
	Hub bool
	// Islands, if set, starts the Net partitioned (see Partition).
	Islands [][]int
	// SyncInterval is the mesh's anti-entropy period; zero: the mesh's
	// default (30 s).
	SyncInterval time.Duration
	// Links puts a proxy in front of every node, counting bytes on the wire
	// and delaying each direction by Latency.
	Links   bool
	Latency time.Duration // one way; needs Links
	// Shape shapes each direction of every link further (bandwidth,
	// jitter, loss; package link); Latency, when set, is its Delay. Needs
	// Links.
	Shape  link.Shape
	Logger *slog.Logger // nil: discard
}

// Net is a running set of nodes.
type Net struct {
	opts    Options
	log     *slog.Logger
	dir     string
	tempDir bool

	nodes  []*node.Node
	meshes []*mesh.Mesh
	pubs   []*lossyPublisher
	ids    []peer.ID // nodes' peer ids, then the hub's

	hub    *node.Relay
	hubDir string

	proxies map[int]*proxy // by index like ids; empty without Links
	wire    link.Counter
	protos  protocols // stream bytes sent, by protocol

	mu      sync.Mutex
	index   map[peer.ID]int
	island  map[int]int // node index → island; nil: no partition
	direct  map[string]bool
	closing bool
}

// closeTimeout bounds the wait for the meshes to stop in Close.
const closeTimeout = 20 * time.Second

// hubIndex is the hub's index in ids, proxies and the gaters' view.
func (n *Net) hubIndex() int { return len(n.nodes) }

// New starts opts.Nodes nodes of one new gathering: the first creates it,
// the others join with its credentials. Nodes are connected to every node
// they may reach (all of them, or their island) before New returns.
func New(ctx context.Context, opts Options) (_ *Net, err error) {
	if opts.Nodes < 1 {
		return nil, errors.New("testnet: at least one node")
	}
	if (opts.Latency > 0 || opts.Shape != link.Shape{}) && !opts.Links {
		return nil, errors.New("testnet: Latency and Shape need Links")
	}
	n := &Net{opts: opts, log: opts.Logger, dir: opts.Dir, index: make(map[peer.ID]int), direct: make(map[string]bool), proxies: make(map[int]*proxy)}
	if n.log == nil {
		n.log = slog.New(slog.DiscardHandler)
	}
	if n.dir == "" {
		if n.dir, err = os.MkdirTemp("", "convene-testnet-"); err != nil {
			return nil, fmt.Errorf("testnet: %w", err)
		}
		n.tempDir = true
	}
	defer func() {
		if err != nil {
			n.Close()
		}
	}()
	if err := n.openNodes(ctx); err != nil {
		return nil, err
	}
	if len(opts.Islands) > 0 {
		if err := n.setIslands(opts.Islands); err != nil {
			return nil, err
		}
	}
	if opts.Hub {
		if err := n.openHub(ctx); err != nil {
			return nil, err
		}
	}
	for i, nd := range n.nodes {
		cfg := n.meshConfig(i)
		if opts.Hub {
			cfg.Hubs = []multiaddr.Multiaddr{n.addr(n.hubIndex())}
		}
		m, err := nd.Connect(ctx, cfg)
		if err != nil {
			return nil, fmt.Errorf("testnet: connect node %d: %w", i, err)
		}
		n.meshes = append(n.meshes, m)
		// Gossip goes through a publisher that can lose it on purpose.
		p := &lossyPublisher{m: m}
		nd.SetPublisher(p)
		n.pubs = append(n.pubs, p)
		if err := n.addLink(i, m); err != nil {
			return nil, err
		}
	}
	if err := n.connectAll(ctx); err != nil {
		return nil, err
	}
	if err := n.waitSynced(ctx); err != nil {
		return nil, err
	}
	return n, nil
}

// waitSynced waits until every host has completed a reconciliation with
// every host it may reach: the connections are up and their protocols
// negotiated, so what a test writes next is not racing the start-up.
func (n *Net) waitSynced(ctx context.Context) error {
	ms := n.allMeshes()
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		pending := -1
		for i, m := range ms {
			want := 0
			for j := range ms {
				if j != i && n.allowed(i, n.ids[j]) {
					want++
				}
			}
			synced := 0
			for _, p := range m.Peers() {
				if !p.LastSync.IsZero() {
					synced++
				}
			}
			if synced < want {
				pending = i
				break
			}
		}
		if pending < 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("testnet: host %d has not reconciled with every peer: %w", pending, ctx.Err())
		case <-t.C:
		}
	}
}

// openNodes creates and opens the nodes, and records their peer ids
// before any host starts, so that the gaters know everyone.
func (n *Net) openNodes(ctx context.Context) error {
	var creds crdt.Credentials
	for i := range n.opts.Nodes {
		dir := filepath.Join(n.dir, fmt.Sprintf("node%02d", i))
		var err error
		if i == 0 {
			creds, err = node.Init(ctx, dir, "Testnet Gathering", "organizer")
		} else {
			err = node.Join(ctx, dir, creds, fmt.Sprintf("participant-%d", i))
		}
		if err != nil {
			return fmt.Errorf("testnet: create node %d: %w", i, err)
		}
		nd, err := node.Open(ctx, node.Config{Dir: dir, Memory: n.opts.Memory, Logger: n.log.With("node", i)})
		if err != nil {
			return fmt.Errorf("testnet: open node %d: %w", i, err)
		}
		n.nodes = append(n.nodes, nd)
		id, err := peer.IDFromPrivateKey(nd.PeerKey())
		if err != nil {
			return fmt.Errorf("testnet: node %d: %w", i, err)
		}
		n.register(id, i)
	}
	return nil
}

func (n *Net) register(id peer.ID, i int) {
	n.mu.Lock()
	n.ids = append(n.ids, id)
	n.index[id] = i
	n.mu.Unlock()
}

// openHub starts the relay, given only the gathering id.
func (n *Net) openHub(ctx context.Context) error {
	n.hubDir = filepath.Join(n.dir, "hub")
	if err := os.MkdirAll(n.hubDir, 0o700); err != nil {
		return fmt.Errorf("testnet: %w", err)
	}
	key, err := node.LoadPeerKey(n.hubDir)
	if err != nil {
		return fmt.Errorf("testnet: hub key: %w", err)
	}
	id, err := peer.IDFromPrivateKey(key)
	if err != nil {
		return fmt.Errorf("testnet: hub key: %w", err)
	}
	n.register(id, n.hubIndex())
	r, err := node.OpenRelay(ctx, node.RelayConfig{
		Dir:        n.hubDir,
		Gatherings: []crdt.Ticket{n.nodes[0].Keys().Ticket()},
		Mesh:       n.meshConfig(n.hubIndex()),
		Logger:     n.log.With("node", "hub"),
	})
	if err != nil {
		return fmt.Errorf("testnet: open hub: %w", err)
	}
	n.hub = r
	return n.addLink(n.hubIndex(), r.Mesh())
}

func (n *Net) meshConfig(i int) mesh.Config {
	return mesh.Config{
		Listen:       []multiaddr.Multiaddr{multiaddr.StringCast("/ip4/127.0.0.1/tcp/0")},
		SyncInterval: n.opts.SyncInterval,
		Gater:        n.gater(i),
		Logger:       n.log.With("node", i),
		Bandwidth:    &n.protos,
	}
}

// addLink records host i's direct addresses and, with Links, starts its
// proxy.
func (n *Net) addLink(i int, m *mesh.Mesh) error {
	var target string
	n.mu.Lock()
	for _, a := range m.Host().Addrs() {
		n.direct[a.String()] = true
		if na, err := manet.ToNetAddr(a); err == nil && target == "" && na.Network() == "tcp" {
			target = na.String()
		}
	}
	n.mu.Unlock()
	if !n.opts.Links {
		return nil
	}
	if target == "" {
		return fmt.Errorf("testnet: host %d has no TCP address", i)
	}
	shape := n.opts.Shape
	if n.opts.Latency > 0 {
		shape.Delay = n.opts.Latency
	}
	p, err := newProxy(target, shape, &n.wire)
	if err != nil {
		return fmt.Errorf("testnet: proxy for host %d: %w", i, err)
	}
	n.mu.Lock()
	n.proxies[i] = p
	n.mu.Unlock()
	return nil
}

// addr is the address other hosts dial to reach host i: its proxy with
// Links, else its own TCP address.
func (n *Net) addr(i int) multiaddr.Multiaddr {
	n.mu.Lock()
	defer n.mu.Unlock()
	var a multiaddr.Multiaddr
	if n.opts.Links {
		a = multiaddr.StringCast(fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", n.proxies[i].port()))
	} else {
		a = n.host(i).Addrs()[0]
	}
	return a.Encapsulate(multiaddr.StringCast("/p2p/" + n.ids[i].String()))
}

// host is host i (the hub's if i is hubIndex).
func (n *Net) host(i int) host.Host {
	if i == n.hubIndex() {
		return n.hub.Mesh().Host()
	}
	return n.meshes[i].Host()
}

// Len is the number of nodes (the hub not counted).
func (n *Net) Len() int { return len(n.nodes) }

// Node is node i.
func (n *Net) Node(i int) *node.Node { return n.nodes[i] }

// Mesh is node i's network side.
func (n *Net) Mesh(i int) *mesh.Mesh { return n.meshes[i] }

// Hub is the relay, or nil without Options.Hub.
func (n *Net) Hub() *node.Relay { return n.hub }

// HubDir is the hub's data directory (its store is HubDir()/store).
func (n *Net) HubDir() string { return n.hubDir }

// Addr is the address that reaches node i (through its proxy with Links).
func (n *Net) Addr(i int) multiaddr.Multiaddr { return n.addr(i) }

// Write makes node i act with its default identity.
func (n *Net) Write(ctx context.Context, i int, body crdt.Body) (crdt.Op, error) {
	op, err := n.nodes[i].Act(ctx, crdt.IdentityID{}, body)
	if err != nil {
		return crdt.Op{}, fmt.Errorf("testnet: node %d: %w", i, err)
	}
	return op, nil
}

// Digest is node i's digest of its operation set.
func (n *Net) Digest(i int) string { return n.nodes[i].Log().Digest() }

// Converged reports whether the given nodes (all of them and the hub if
// none are given) hold the same operations.
func (n *Net) Converged(nodes ...int) bool {
	_, ok := n.digests(nodes)
	return ok
}

func (n *Net) digests(nodes []int) ([]string, bool) {
	var ds []string
	if len(nodes) == 0 {
		for i := range n.nodes {
			ds = append(ds, n.Digest(i))
		}
		if n.hub != nil {
			for _, g := range n.hub.Gatherings() {
				ds = append(ds, g.Digest)
			}
		}
	} else {
		for _, i := range nodes {
			ds = append(ds, n.Digest(i))
		}
	}
	for _, d := range ds[1:] {
		if d != ds[0] {
			return ds, false
		}
	}
	return ds, true
}

// WaitConverged waits until Converged(nodes...) or ctx ends; the error
// then says what each node holds.
func (n *Net) WaitConverged(ctx context.Context, nodes ...int) error {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		ds, ok := n.digests(nodes)
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("testnet: not converged: %s: %w", n.describe(nodes, ds), ctx.Err())
		case <-t.C:
		}
	}
}

func (n *Net) describe(nodes []int, ds []string) string {
	if len(nodes) == 0 {
		for i := range n.nodes {
			nodes = append(nodes, i)
		}
	}
	var b strings.Builder
	for k, d := range ds {
		if k < len(nodes) {
			fmt.Fprintf(&b, "node %d: %d ops %.8s; ", nodes[k], n.nodes[nodes[k]].Log().Len(), d)
		} else {
			fmt.Fprintf(&b, "hub: %.8s; ", d)
		}
	}
	return b.String()
}

// SetGossipLoss makes node i lose each operation it publishes with
// probability p (1: all), before it reaches the network.
// Reconciliation must then deliver them.
func (n *Net) SetGossipLoss(i int, p float64) { n.pubs[i].loss.Store(floatBits(p)) }

// GossipLost counts the operations node i lost on purpose.
func (n *Net) GossipLost(i int) int64 { return n.pubs[i].lost.Load() }

// ReconStats sums the reconciliation counters of every node (and the hub).
func (n *Net) ReconStats() mesh.Stats {
	var s mesh.Stats
	for _, m := range n.allMeshes() {
		s = s.Plus(m.Stats())
	}
	return s
}

// WireBytes counts every byte the proxies carried (zero without Links).
func (n *Net) WireBytes() int64 { return n.wire.Total() }

// protocolTraffic is what every host has written on its streams so far,
// by protocol.
func (n *Net) protocolTraffic() map[protocol.ID]Traffic { return n.protos.snapshot() }

// Close stops every mesh, node, hub and proxy, and removes a temporary
// directory.
func (n *Net) Close() error {
	n.mu.Lock()
	if n.closing {
		n.mu.Unlock()
		return nil
	}
	n.closing = true
	n.mu.Unlock()
	var errs []error
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, m := range n.allMeshes() {
		wg.Go(func() {
			if err := m.Close(); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(closeTimeout):
		// A mesh that does not stop is a bug to report, not a reason to
		// hang the test run; its node and store are left open.
		return fmt.Errorf("testnet: a mesh did not close within %v", closeTimeout)
	}
	if n.hub != nil {
		errs = append(errs, n.hub.Close())
	}
	for _, nd := range n.nodes {
		errs = append(errs, nd.Close())
	}
	for _, p := range n.proxies {
		errs = append(errs, p.close())
	}
	if n.tempDir {
		errs = append(errs, os.RemoveAll(n.dir))
	}
	return errors.Join(errs...)
}

// lossyPublisher passes a node's new operations to its mesh, losing some
// on purpose.
type lossyPublisher struct {
	m    *mesh.Mesh
	loss atomic.Uint64 // float64 bits
	lost atomic.Int64
}

func (p *lossyPublisher) Publish(ctx context.Context, g crdt.GatheringID, raw []byte) error {
	if l := floatOf(p.loss.Load()); l > 0 && rand.Float64() < l {
		p.lost.Add(1)
		return nil
	}
	return p.m.Publish(ctx, g, raw)
}
