package mesh

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"
)

const (
	pexProto    = protocol.ID("/convene/pex/2")
	pexTimeout  = 10 * time.Second
	pexMaxPeers = 64
	pexMaxAddrs = 16
	pexMaxAddr  = 512
	pexMaxBytes = 64 << 10
	// pexMaxDials bounds the new peers one exchange dials, and
	// pexDialAddrs the addresses dialled of each: at most 32 dials per
	// answer, whatever it lists.
	pexMaxDials  = 8
	pexDialAddrs = 4
	// pexMaxKnown bounds the peers an asker says it is connected to.
	pexMaxKnown = 2048
	// pexTagLen is how many bytes of a peer id's end name it in a request.
	pexTagLen = 4
)

// Peer exchange. The asker opens a stream, says which peers it is
// connected to, and closes its side:
//
//	count uvarint (≤ pexMaxKnown)
//	count × 4 bytes: the last 4 bytes of a connected peer's id, ascending
//
// and the answer lists connected peers, but those:
//
//	count uvarint (≤ pexMaxPeers)
//	count × (id: uvarint length, bytes; n uvarint (≤ pexMaxAddrs);
//	         n × (uvarint length (≤ pexMaxAddr), multiaddr bytes))
//
// Only a peer that reconciled a gathering with this node is answered, and
// told only of the peers it shares a gathering with: a hub serving several
// gatherings, or any node, must not hand its whole address book to
// whoever connects.
//
// Each node asks every peer after their first session and every sync
// round; in a room where everyone is connected to everyone, every answer
// listed all the peers the asker already had (at the benchmark's heal of 50
// laptops, 625 new connections at once, that was the largest part of what
// the wire carried besides reconciliation and pings). The request's tags
// leave them out. A tag is 4 bytes of a hash (ids end in a public key or
// its hash): two peers sharing one is rare, and costs the asker only the
// mention of one peer in one answer; an asker that lies about its
// connections only narrows its own answer.

func (m *Mesh) handlePEX(s network.Stream) {
	asker := s.Conn().RemotePeer()
	_ = s.SetReadDeadline(time.Now().Add(pexTimeout))
	req, err := io.ReadAll(io.LimitReader(s, pexMaxRequest+1))
	if err != nil {
		s.Reset()
		return
	}
	known, err := decodePEXRequest(req)
	if err != nil {
		m.penalize(asker, 1, err)
		s.Reset()
		return
	}
	peers, ok := m.pexPeers(asker)
	if !ok {
		s.Reset()
		return
	}
	_ = s.SetWriteDeadline(time.Now().Add(pexTimeout))
	defer s.Close()
	remote, local := s.Conn().RemoteMultiaddr(), m.prefixes.get(m.now())
	var infos []peer.AddrInfo
	for _, p := range peers {
		if len(infos) == pexMaxPeers {
			break
		}
		if known[pexTag(p)] || m.h.Network().Connectedness(p) != network.Connected {
			continue
		}
		ai := peer.AddrInfo{ID: p}
		for _, a := range m.h.Peerstore().Addrs(p) {
			if !usableFrom(a, remote, local) {
				continue
			}
			if len(ai.Addrs) < pexMaxAddrs && len(a.Bytes()) <= pexMaxAddr {
				ai.Addrs = append(ai.Addrs, a)
			}
		}
		if len(ai.Addrs) > 0 {
			infos = append(infos, ai)
		}
	}
	if _, err := s.Write(encodePEX(infos)); err != nil {
		s.Reset()
	}
}

// pexPeers lists the peers that share a gathering with asker: those this
// node reconciled that gathering with lately. ok is false if asker has
// reconciled none. The asker asks once its side of the first session is
// over, possibly before this side has recorded it; so while a session
// with the asker runs, pexPeers waits for it to end.
func (m *Mesh) pexPeers(asker peer.ID) (peers []peer.ID, ok bool) {
	timeout := time.NewTimer(pexTimeout)
	defer timeout.Stop()
	for {
		m.mu.Lock()
		peers, ok, pending := m.sharing(asker)
		ended := m.ended
		m.mu.Unlock()
		if ok || !pending {
			return peers, ok
		}
		select {
		case <-ended:
		case <-timeout.C:
			return nil, false
		case <-m.ctx.Done():
			return nil, false
		}
	}
}

// sharing lists the peers that reconciled lately a gathering that asker
// reconciled too, and reports whether asker did (ok) and whether a
// session with it is running. Callers hold m.mu.
func (m *Mesh) sharing(asker peer.ID) (peers []peer.ID, ok, pending bool) {
	seen := make(map[peer.ID]bool)
	for _, g := range m.gatherings {
		pending = pending || g.running[asker] || g.inbound[asker]
		if _, synced := g.synced[asker]; !synced {
			continue
		}
		ok = true
		for p := range g.synced {
			if p != asker && !seen[p] {
				seen[p] = true
				peers = append(peers, p)
			}
		}
	}
	// Map order is random: a different sample each time when there are
	// more than pexMaxPeers.
	return peers, ok, pending
}

// exchangePeers asks p for the peers it knows and dials the new ones.
func (m *Mesh) exchangePeers(ctx context.Context, p peer.ID) {
	ctx, cancel := context.WithTimeout(ctx, pexTimeout)
	defer cancel()
	s, err := m.h.NewStream(network.WithAllowLimitedConn(ctx, "pex"), p, pexProto)
	if err != nil {
		return
	}
	defer s.Close()
	_ = s.SetDeadline(time.Now().Add(pexTimeout))
	if _, err := s.Write(encodePEXRequest(m.h.Network().Peers())); err != nil {
		s.Reset()
		return
	}
	_ = s.CloseWrite()
	b, err := io.ReadAll(io.LimitReader(s, pexMaxBytes+1))
	if err != nil || len(b) > pexMaxBytes {
		s.Reset()
		return
	}
	infos, err := decodePEX(b)
	if err != nil {
		m.penalize(p, 1, err)
		return
	}
	remote, local := s.Conn().RemoteMultiaddr(), m.prefixes.get(m.now())
	dials := 0
	for _, ai := range infos {
		if ai.ID == m.h.ID() || m.h.Network().Connectedness(ai.ID) == network.Connected {
			continue
		}
		usable := ai.Addrs[:0]
		for _, a := range ai.Addrs {
			if len(usable) < pexDialAddrs && usableFrom(a, remote, local) {
				usable = append(usable, a)
			}
		}
		if ai.Addrs = usable; len(usable) == 0 {
			continue
		}
		if dials++; dials > pexMaxDials {
			break
		}
		m.h.Peerstore().AddAddrs(ai.ID, ai.Addrs, peerstore.TempAddrTTL)
		m.dialNew(ai, ViaPEX)
	}
}

// usableFrom reports whether address a, heard of from a peer connected
// from remote (or to be told to it), is one a member there could use: a
// public address, or one in the same local subnet (of local, this host's
// interface prefixes) as remote. Never loopback (unless remote is on
// loopback: tests, or several nodes on one machine), link-local,
// multicast, unspecified or a DNS name: a peer must not be able to make a
// member dial services on its own machine or networks it cannot see.
func usableFrom(a, remote multiaddr.Multiaddr, local []netip.Prefix) bool {
	ip, err := manet.ToIP(a)
	if err != nil {
		return false // DNS names, and anything without an IP
	}
	addr, ok := netip.AddrFromSlice(ip)
	if !ok {
		return false
	}
	addr = addr.Unmap()
	var from netip.Addr
	if rip, err := manet.ToIP(remote); err == nil {
		from, _ = netip.AddrFromSlice(rip)
		from = from.Unmap()
	}
	switch {
	case addr.IsLoopback():
		return from.IsValid() && from.IsLoopback()
	case !addr.IsGlobalUnicast(): // link-local, multicast, unspecified
		return false
	case !addr.IsPrivate() && !sharedSpace.Contains(addr):
		return true
	}
	if !from.IsValid() {
		return false
	}
	for _, p := range local {
		if p.Contains(from) && p.Contains(addr) {
			return true
		}
	}
	return false
}

// sharedSpace is carrier-grade NAT space (RFC 6598): private in practice.
var sharedSpace = netip.MustParsePrefix("100.64.0.0/10")

// prefixCache holds localPrefixes for prefixTTL: peer exchange asks for
// them in every exchange, every peer every round, and each read is a
// netlink dump of the host's addresses (a tenth of a second of the 50-node
// heal's CPU).
type prefixCache struct {
	mu   sync.Mutex
	at   time.Time
	list []netip.Prefix
}

const prefixTTL = 10 * time.Second

// get returns the host's subnets as read at most prefixTTL before now.
// The list is shared: callers must not modify it.
func (c *prefixCache) get(now time.Time) []netip.Prefix {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.at.IsZero() || now.Sub(c.at) >= prefixTTL || now.Before(c.at) {
		c.list, c.at = localPrefixes(), now
	}
	return c.list
}

// localPrefixes lists the subnets of this host's interfaces.
func localPrefixes() []netip.Prefix {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	var out []netip.Prefix
	for _, a := range addrs {
		n, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		ip, ok := netip.AddrFromSlice(n.IP)
		if !ok {
			continue
		}
		ones, _ := n.Mask.Size()
		if ip.Unmap().Is4() && ones > 32 {
			ones -= 96
		}
		if p, err := ip.Unmap().Prefix(ones); err == nil {
			out = append(out, p)
		}
	}
	return out
}

func encodePEX(infos []peer.AddrInfo) []byte {
	b := binary.AppendUvarint(nil, uint64(len(infos)))
	for _, ai := range infos {
		id := []byte(ai.ID)
		b = binary.AppendUvarint(b, uint64(len(id)))
		b = append(b, id...)
		b = binary.AppendUvarint(b, uint64(len(ai.Addrs)))
		for _, a := range ai.Addrs {
			ab := a.Bytes()
			b = binary.AppendUvarint(b, uint64(len(ab)))
			b = append(b, ab...)
		}
	}
	return b
}

var errPEX = errors.New("malformed peer exchange")

// pexMaxRequest bounds an encoded request.
const pexMaxRequest = binary.MaxVarintLen16 + pexMaxKnown*pexTagLen

// pexTag is what a request names p by.
func pexTag(p peer.ID) uint32 {
	var b [pexTagLen]byte
	copy(b[max(0, pexTagLen-len(p)):], p[max(0, len(p)-pexTagLen):])
	return binary.BigEndian.Uint32(b[:])
}

// encodePEXRequest names the peers connected, at most pexMaxKnown of them.
func encodePEXRequest(connected []peer.ID) []byte {
	tags := make([]uint32, 0, len(connected))
	for _, p := range connected {
		tags = append(tags, pexTag(p))
	}
	slices.Sort(tags)
	tags = slices.Compact(tags)
	tags = tags[:min(len(tags), pexMaxKnown)]
	b := binary.AppendUvarint(make([]byte, 0, binary.MaxVarintLen16+len(tags)*pexTagLen), uint64(len(tags)))
	for _, t := range tags {
		b = binary.BigEndian.AppendUint32(b, t)
	}
	return b
}

// decodePEXRequest parses a request strictly: a bounded count, as many
// tags, ascending, and nothing after.
func decodePEXRequest(b []byte) (map[uint32]bool, error) {
	n, b, err := cutUvarint(b, pexMaxKnown, errPEX)
	if err != nil {
		return nil, err
	}
	if uint64(len(b)) != n*pexTagLen {
		return nil, fmt.Errorf("%w: %d tags in %d bytes", errPEX, n, len(b))
	}
	known := make(map[uint32]bool, n)
	var prev uint32
	for i := range int(n) {
		t := binary.BigEndian.Uint32(b[i*pexTagLen:])
		if i > 0 && t <= prev {
			return nil, fmt.Errorf("%w: tags out of order", errPEX)
		}
		known[t], prev = true, t
	}
	return known, nil
}

func decodePEX(b []byte) ([]peer.AddrInfo, error) {
	n, b, err := cutUvarint(b, pexMaxPeers, errPEX)
	if err != nil {
		return nil, err
	}
	infos := make([]peer.AddrInfo, 0, n)
	for range n {
		var idb []byte
		idb, b, err = pexBytes(b, 128)
		if err != nil {
			return nil, err
		}
		id, err := peer.IDFromBytes(idb)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", errPEX, err)
		}
		var na uint64
		na, b, err = cutUvarint(b, pexMaxAddrs, errPEX)
		if err != nil {
			return nil, err
		}
		ai := peer.AddrInfo{ID: id}
		for range na {
			var ab []byte
			ab, b, err = pexBytes(b, pexMaxAddr)
			if err != nil {
				return nil, err
			}
			a, err := multiaddr.NewMultiaddrBytes(ab)
			if err != nil {
				return nil, fmt.Errorf("%w: %v", errPEX, err)
			}
			ai.Addrs = append(ai.Addrs, a)
		}
		infos = append(infos, ai)
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("%w: trailing bytes", errPEX)
	}
	return infos, nil
}

func pexBytes(b []byte, limit uint64) ([]byte, []byte, error) {
	l, b, err := cutUvarint(b, limit, errPEX)
	if err != nil {
		return nil, nil, err
	}
	if l > uint64(len(b)) {
		return nil, nil, fmt.Errorf("%w: truncated", errPEX)
	}
	return b[:l], b[l:], nil
}
