package node

import (
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"
)

// InviteAddrs is the one rule for which addresses an invite carries: this
// node's own (own, with /p2p/), then the addresses it learned of the peers
// it synced with (learned: connected ones, or those remembered from earlier
// runs), so that an invite printed after this laptop moved to a new port,
// or printed with no node running, still leads to the room. Loopback
// addresses reach only this machine: they are kept only when there is
// nothing else. IPv6 link-local ones need a zone only this machine knows
// and are dropped. Duplicates are dropped; the invite's own cap (16) keeps
// the first, which are this node's.
func InviteAddrs(own []string, learned []peer.AddrInfo) []ma.Multiaddr {
	var out, loopback []ma.Multiaddr
	seen := map[string]bool{}
	add := func(a ma.Multiaddr) {
		if seen[a.String()] {
			return
		}
		seen[a.String()] = true
		switch {
		case manet.IsIPLoopback(a):
			loopback = append(loopback, a)
		case manet.IsIP6LinkLocal(a):
		default:
			out = append(out, a)
		}
	}
	for _, s := range own {
		if a, err := ma.NewMultiaddr(s); err == nil {
			add(a)
		}
	}
	for _, ai := range learned {
		addrs, err := peer.AddrInfoToP2pAddrs(&ai)
		if err != nil {
			continue
		}
		for _, a := range addrs {
			add(a)
		}
	}
	if len(out) == 0 {
		return loopback
	}
	return out
}

// learner is a PeerSource that also knows the addresses of the peers it
// synced with (the mesh does).
type learner interface {
	Synced() []peer.AddrInfo
}

// Synced lists the peers the mesh synced with and their addresses.
func (p meshPeers) Synced() []peer.AddrInfo { return p.m.Synced() }

// learned is what this node knows of its peers' addresses: the live
// mesh's, else what it remembered on its last run.
func (n *Node) learned() []peer.AddrInfo {
	if l, ok := n.peerSource().(learner); ok {
		if ais := l.Synced(); len(ais) > 0 {
			return ais
		}
	}
	if n.memory {
		return nil
	}
	ais, _ := LoadRemembered(n.dir)
	return ais
}
