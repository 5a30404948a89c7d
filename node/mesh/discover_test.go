package mesh

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"slices"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multiaddr"
)

func TestPEXRoundTrip(t *testing.T) {
	id := newPeerID(t)
	in := []peer.AddrInfo{{ID: id, Addrs: []multiaddr.Multiaddr{
		multiaddr.StringCast("/ip4/192.168.1.20/tcp/4001"),
		multiaddr.StringCast("/ip4/192.168.1.20/udp/4001/quic-v1"),
	}}}
	out, err := decodePEX(encodePEX(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 || out[0].ID != id || len(out[0].Addrs) != 2 || !out[0].Addrs[1].Equal(in[0].Addrs[1]) {
		t.Errorf("decoded %v, want %v", out, in)
	}
}

func TestPEXRejects(t *testing.T) {
	good := encodePEX([]peer.AddrInfo{{ID: newPeerID(t), Addrs: []multiaddr.Multiaddr{multiaddr.StringCast("/ip4/10.0.0.1/tcp/1")}}})
	uv := func(v uint64) []byte { return binary.AppendUvarint(nil, v) }
	id := []byte(newPeerID(t))
	badAddr := append(append(uv(1), uv(uint64(len(id)))...), id...)
	badAddr = append(append(badAddr, uv(1)...), uv(3)...)
	badAddr = append(badAddr, 0xff, 0xff, 0xff)
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"too many peers", uv(pexMaxPeers + 1)},
		{"truncated", good[:len(good)-2]},
		{"trailing", append(good, 0)},
		{"bad peer id", append(append(uv(1), uv(3)...), 1, 2, 3)},
		{"bad address", badAddr},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := decodePEX(tc.b); !errors.Is(err, errPEX) {
				t.Errorf("decode: %v, want a peer exchange error", err)
			}
		})
	}
}

// FuzzDecodePEX: a peer-exchange answer from any peer never panics the
// decoder, and what it accepts encodes back to an answer that decodes the
// same.
func FuzzDecodePEX(f *testing.F) {
	f.Add(encodePEX([]peer.AddrInfo{{ID: newPeerID(f), Addrs: []multiaddr.Multiaddr{
		multiaddr.StringCast("/ip4/192.168.1.20/tcp/4001"),
		multiaddr.StringCast("/ip6/fd00::2/udp/4001/quic-v1"),
	}}}))
	f.Add(encodePEX(nil))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		infos, err := decodePEX(b)
		if err != nil {
			return
		}
		again, err := decodePEX(encodePEX(infos))
		if err != nil || len(again) != len(infos) {
			t.Fatalf("re-encoding changed the answer: %v", err)
		}
	})
}

func TestPEXRequestRoundTrip(t *testing.T) {
	var ids []peer.ID
	for range 50 {
		ids = append(ids, newPeerID(t))
	}
	b := encodePEXRequest(append(ids, ids[3])) // a peer listed twice is named once
	if len(b) > 2+50*pexTagLen {
		t.Errorf("50 peers in %d bytes", len(b))
	}
	known, err := decodePEXRequest(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(known) != 50 {
		t.Errorf("%d tags, want 50", len(known))
	}
	for _, id := range ids {
		if !known[pexTag(id)] {
			t.Fatalf("%s is not named", id)
		}
	}
	if known[pexTag(newPeerID(t))] {
		t.Error("a peer never connected is named") // 50 in 2^32 by chance
	}
	if k, err := decodePEXRequest(encodePEXRequest(nil)); err != nil || len(k) != 0 {
		t.Errorf("the empty request: %v, %v", k, err)
	}
}

func TestPEXRequestRejects(t *testing.T) {
	uv := func(v uint64) []byte { return binary.AppendUvarint(nil, v) }
	tag := func(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
	cat := func(parts ...[]byte) []byte {
		var b []byte
		for _, p := range parts {
			b = append(b, p...)
		}
		return b
	}
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"too many", cat(uv(pexMaxKnown+1), make([]byte, (pexMaxKnown+1)*pexTagLen))},
		{"non-minimal count", cat([]byte{0x81, 0x00}, tag(1))},
		{"truncated", cat(uv(2), tag(1), tag(2)[:3])},
		{"trailing", cat(uv(1), tag(1), []byte{0})},
		{"duplicate", cat(uv(2), tag(1), tag(1))},
		{"descending", cat(uv(2), tag(2), tag(1))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := decodePEXRequest(tc.b); !errors.Is(err, errPEX) {
				t.Errorf("decode: %v, want a peer exchange error", err)
			}
		})
	}
}

// FuzzDecodePEXRequest: a peer-exchange request from any peer never
// panics the decoder, stays within its bounds, and has one encoding.
func FuzzDecodePEXRequest(f *testing.F) {
	f.Add(encodePEXRequest([]peer.ID{newPeerID(f), newPeerID(f)}))
	f.Add(encodePEXRequest(nil))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		known, err := decodePEXRequest(b)
		if err != nil {
			if !errors.Is(err, errPEX) {
				t.Fatalf("error %v is not a peer exchange error", err)
			}
			return
		}
		if len(known) > pexMaxKnown || len(b) > pexMaxRequest {
			t.Fatalf("%d tags in %d bytes", len(known), len(b))
		}
		tags := make([]uint32, 0, len(known))
		for t := range known {
			tags = append(tags, t)
		}
		slices.Sort(tags)
		again := binary.AppendUvarint(nil, uint64(len(tags)))
		for _, t := range tags {
			again = binary.BigEndian.AppendUint32(again, t)
		}
		if !bytes.Equal(again, b) {
			t.Fatal("the request has another encoding")
		}
	})
}

func TestUsableFrom(t *testing.T) {
	local := []netip.Prefix{
		netip.MustParsePrefix("127.0.0.0/8"),
		netip.MustParsePrefix("192.168.1.0/24"),
		netip.MustParsePrefix("fd00:1::/64"),
	}
	lan := multiaddr.StringCast("/ip4/192.168.1.9/tcp/4001")
	lo := multiaddr.StringCast("/ip4/127.0.0.1/tcp/4001")
	remote := multiaddr.StringCast("/ip4/198.51.100.7/tcp/4001") // a hub's peer, across the internet
	relayed := multiaddr.StringCast("/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN/p2p-circuit")
	tests := []struct {
		addr string
		from multiaddr.Multiaddr
		want bool
	}{
		{"/ip4/192.168.1.20/tcp/4001", lan, true},
		{"/ip4/192.168.1.20/udp/4001/quic-v1", lan, true},
		{"/ip4/192.168.2.20/tcp/4001", lan, false}, // another subnet
		{"/ip4/10.0.0.1/tcp/4001", lan, false},
		{"/ip4/100.64.0.1/tcp/4001", lan, false}, // carrier-grade NAT
		{"/ip4/203.0.113.7/tcp/4001", lan, true}, // public
		{"/ip4/127.0.0.1/tcp/4001", lan, false},
		{"/ip6/::1/tcp/4001", lan, false},
		{"/ip4/169.254.3.4/tcp/4001", lan, false},
		{"/ip6/fe80::1/tcp/4001", lan, false},
		{"/ip4/0.0.0.0/tcp/4001", lan, false},
		{"/ip4/224.0.0.251/udp/5353", lan, false},
		{"/dns4/printer.local/tcp/80", lan, false},
		{"/dns/example.com/tcp/4001", remote, false},
		{"/ip4/192.168.1.20/tcp/4001", remote, false}, // not the remote's subnet
		{"/ip4/203.0.113.7/tcp/4001", remote, true},
		{"/ip6/fd00:1::5/tcp/4001", multiaddr.StringCast("/ip6/fd00:1::9/tcp/1"), true},
		{"/ip6/fd00:2::5/tcp/4001", multiaddr.StringCast("/ip6/fd00:1::9/tcp/1"), false},
		{"/ip6/2001:db8::5/tcp/4001", lan, true}, // global unicast to netip
		{"/ip4/127.0.0.1/tcp/4001", lo, true},    // a peer on this machine
		{"/ip4/192.168.2.20/tcp/4001", lo, false},
		{"/ip4/192.168.1.20/tcp/4001", relayed, false},
		{"/ip4/203.0.113.7/tcp/4001", relayed, true},
	}
	for _, tt := range tests {
		got := usableFrom(multiaddr.StringCast(tt.addr), tt.from, local)
		if got != tt.want {
			t.Errorf("usableFrom(%s, from %s) = %v, want %v", tt.addr, tt.from, got, tt.want)
		}
	}
}
