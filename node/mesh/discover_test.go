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
