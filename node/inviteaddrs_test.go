package node

import (
	"strings"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// TestInviteAddrs: an invite carries this node's addresses, then those it
// learned of its peers (with their /p2p/ id), never loopback (unless that
// is all there is) nor link-local, each once.
func TestInviteAddrs(t *testing.T) {
	const id = "/p2p/12D3KooWBMrRboEtkTo6fEi71BDuY1Eihqvx9S1symb3LiRuXFFo"
	lan, lan6 := "/ip4/192.168.1.20/tcp/4001"+id, "/ip6/2001:db8::1/udp/4001/quic-v1"+id
	lo, lo6, ll := "/ip4/127.0.0.1/tcp/4001"+id, "/ip6/::1/tcp/4001"+id, "/ip6/fe80::1/tcp/4001"+id
	other, err := peer.Decode("12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo")
	if err != nil {
		t.Fatal(err)
	}
	peerAddr := func(s string) ma.Multiaddr { return ma.StringCast(s) }
	learned := []peer.AddrInfo{{ID: other, Addrs: []ma.Multiaddr{peerAddr("/ip4/192.168.1.30/tcp/5000"), peerAddr("/ip4/127.0.0.1/tcp/5000")}}}
	learnedAddr := "/ip4/192.168.1.30/tcp/5000/p2p/" + other.String()
	for _, c := range []struct {
		in      []string
		learned []peer.AddrInfo
		want    []string
	}{
		{[]string{lo, lan, lo6, ll, lan6, "garbage", lan}, nil, []string{lan, lan6}},
		{[]string{lo, lo6}, nil, []string{lo, lo6}},
		{[]string{ll}, nil, nil},
		{nil, nil, nil},
		{[]string{lo, lan}, learned, []string{lan, learnedAddr}},
		// A node on loopback only that learned a LAN peer: the peer's
		// address is what others can dial.
		{[]string{lo}, learned, []string{learnedAddr}},
		{nil, learned, []string{learnedAddr}},
	} {
		var got []string
		for _, a := range InviteAddrs(c.in, c.learned) {
			got = append(got, a.String())
		}
		if strings.Join(got, " ") != strings.Join(c.want, " ") {
			t.Errorf("InviteAddrs(%q, %v) = %q, want %q", c.in, c.learned, got, c.want)
		}
	}
}
