package mesh

import (
	"encoding/binary"
	"errors"
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
