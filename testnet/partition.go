package testnet

// Cutting a Net into islands and healing it: the gaters' rules and the
// connections that cross the cut.

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multiaddr"

	"github.com/convene/convene/node/mesh"
)

// Partition cuts the Net into islands: a node reaches only the nodes of its
// own island (and the hub). Nodes named in no island are alone. Connections
// that cross the cut are closed.
func (n *Net) Partition(islands ...[]int) error {
	if err := n.setIslands(islands); err != nil {
		return err
	}
	n.cut()
	return nil
}

func (n *Net) setIslands(islands [][]int) error {
	m := make(map[int]int)
	for k, isl := range islands {
		for _, i := range isl {
			if i < 0 || i >= len(n.nodes) {
				return fmt.Errorf("testnet: no node %d", i)
			}
			if _, ok := m[i]; ok {
				return fmt.Errorf("testnet: node %d in two islands", i)
			}
			m[i] = k
		}
	}
	for i := range n.nodes {
		if _, ok := m[i]; !ok {
			m[i] = len(islands) + i
		}
	}
	n.mu.Lock()
	n.island = m
	n.mu.Unlock()
	return nil
}

// cut closes every connection the gaters would now refuse.
func (n *Net) cut() {
	for i, m := range n.allMeshes() {
		for _, p := range m.Host().Network().Peers() {
			if !n.allowed(i, p) {
				_ = m.Host().Network().ClosePeer(p)
			}
		}
	}
}

// allMeshes are the nodes' meshes, then the hub's.
func (n *Net) allMeshes() []*mesh.Mesh {
	ms := append([]*mesh.Mesh(nil), n.meshes...)
	if n.hub != nil {
		ms = append(ms, n.hub.Mesh())
	}
	return ms
}

// Heal lifts the partition and connects every pair of hosts that is not
// connected, as discovery on a LAN would once the cut is gone. Each new
// connection starts a reconciliation.
//
// Dials are best effort, as discovery's are: a busy host may time out some
// handshakes, and the partition is healed as long as the islands are
// linked at all. Heal fails only if ctx ends or no dial succeeds.
func (n *Net) Heal(ctx context.Context) error {
	n.mu.Lock()
	n.island = nil
	n.mu.Unlock()
	tried, err := n.connect(ctx)
	if err == nil {
		return nil
	}
	if ctx.Err() != nil || len(multiErrs(err)) == tried {
		return err
	}
	n.log.Warn("some dials failed while healing", "failed", len(multiErrs(err)), "of", tried, "err", err)
	return nil
}

func multiErrs(err error) []error {
	if u, ok := err.(interface{ Unwrap() []error }); ok {
		return u.Unwrap()
	}
	return []error{err}
}

// connectAll connects every allowed pair not yet connected, the hub to
// everyone.
func (n *Net) connectAll(ctx context.Context) error {
	_, err := n.connect(ctx)
	return err
}

// connect dials the missing pairs and says how many it tried.
func (n *Net) connect(ctx context.Context) (int, error) {
	ms := n.allMeshes()
	type pair struct{ i, j int }
	var pairs []pair
	for i := range ms {
		for j := i + 1; j < len(ms); j++ {
			if !n.allowed(i, n.ids[j]) {
				continue
			}
			if ms[i].Host().Network().Connectedness(n.ids[j]) == network.Connected {
				continue
			}
			pairs = append(pairs, pair{i, j})
		}
	}
	sem := make(chan struct{}, 16)
	errs := make([]error, len(pairs))
	var wg sync.WaitGroup
	for k, p := range pairs {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			ai, err := peer.AddrInfoFromP2pAddr(n.addr(p.j))
			if err == nil {
				err = ms[p.i].Host().Connect(ctx, *ai)
			}
			if err != nil {
				errs[k] = fmt.Errorf("testnet: connect %d to %d: %w", p.i, p.j, err)
			}
		})
	}
	wg.Wait()
	return len(pairs), errors.Join(errs...)
}

// allowed says whether host self may be connected to peer p.
func (n *Net) allowed(self int, p peer.ID) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closing {
		return false
	}
	j, known := n.index[p]
	switch {
	case !known:
		return true // strangers (an attacker in a test) are let in
	case n.island == nil, self == n.hubIndex(), j == n.hubIndex():
		return true
	}
	return n.island[self] == n.island[j]
}

// addrAllowed refuses direct addresses when every connection must go
// through a proxy.
func (n *Net) addrAllowed(a multiaddr.Multiaddr) bool {
	if !n.opts.Links {
		return true
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return !n.direct[a.String()]
}
