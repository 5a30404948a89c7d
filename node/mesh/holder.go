package mesh

import (
	"net/netip"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multiaddr"
)

// A hold of the learning gate (gate.go) is charged to the peer's address,
// not to its id: ids are free, and a member with a hundred of them would
// have a hundred budgets. The address is the one a machine cannot
// multiply cheaply:
//
//   - IPv4: the address.
//   - IPv6 on this side's own link (the /64 of the connection's local
//     address), link-local, unique-local (fc00::/7) or NAT64 (64:ff9b::/96,
//     which embeds an IPv4 address): the address. At a venue every laptop
//     takes an address in the same /64 by SLAAC; a /64 there would make
//     the whole room one holder.
//   - Other IPv6: its /64, what one site is given to take addresses from.
//   - Relayed: the relay's address. Anyone may relay through a hub, so a
//     relayed peer charged by id would have a budget per id again.
//   - Loopback (tests, and nodes sharing one machine), or no address known:
//     the peer's id.
//
// Chosen knowingly: honest laptops behind one NAT, or reaching this one
// through one relay, share a budget. Past it their sessions only stop
// holding others back, which costs differences named twice, never an
// operation.
type holder struct {
	net netip.Prefix // the peer's address, when it has one of its own
	p   peer.ID      // otherwise the peer
}

// nat64 is the well-known NAT64 prefix (RFC 6052).
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// holderOf is the holder of a session with p over a connection from
// remote to local (either nil if not known).
func holderOf(p peer.ID, remote, local multiaddr.Multiaddr) holder {
	if remote == nil {
		return holder{p: p}
	}
	ip := addrIP(remote) // a relayed address's is the relay's
	_, err := remote.ValueForProtocol(multiaddr.P_CIRCUIT)
	relayed := err == nil
	switch {
	case !ip.IsValid() || ip.IsLoopback():
		return holder{p: p}
	case ip.Is4(), relayed, ip.IsLinkLocalUnicast(), ip.IsPrivate(), nat64.Contains(ip):
		return holder{net: netip.PrefixFrom(ip, ip.BitLen())}
	}
	n, _ := ip.Prefix(64)
	if local != nil {
		if l := addrIP(local); l.Is6() && n.Contains(l) {
			return holder{net: netip.PrefixFrom(ip, 128)}
		}
	}
	return holder{net: n}
}

// connHolder is the holder of a session over c.
func connHolder(p peer.ID, c network.Conn) holder {
	if c == nil {
		return holder{p: p}
	}
	return holderOf(p, c.RemoteMultiaddr(), c.LocalMultiaddr())
}

// seatFor makes the seat of a session this side initiates with p, before
// its stream exists: charged to p's address if any of p's connections
// has one, a direct connection's first (the one a new stream takes). Once
// the stream is open, rekey charges it to the stream's own connection.
func (m *Mesh) seatFor(p peer.ID) *seat {
	h := holder{p: p}
	for _, c := range m.h.Network().ConnsToPeer(p) {
		ch := connHolder(p, c)
		if !ch.net.IsValid() {
			continue
		}
		h = ch
		if !c.Stat().Limited {
			break
		}
	}
	return &seat{h: h}
}
