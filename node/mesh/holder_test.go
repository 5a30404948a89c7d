package mesh

import (
	"net/netip"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multiaddr"
)

func TestHolderOf(t *testing.T) {
	x := peer.ID("x")
	relay := "/p2p/12D3KooWGzxzKZYveHXtpG6AsrUJBcWxHBFS2HsEoGTxrMLvKXtf/p2p-circuit"
	addr := func(s string) holder { return holder{net: netip.MustParsePrefix(s)} }
	for _, tc := range []struct {
		remote, local string
		want          holder
	}{
		{"/ip4/192.168.1.5/tcp/4001", "", addr("192.168.1.5/32")},
		{"/ip4/192.168.1.5/udp/4001/quic-v1", "/ip4/192.168.1.9/udp/4001/quic-v1", addr("192.168.1.5/32")},
		{"/ip6/::ffff:192.168.1.5/tcp/4001", "", addr("192.168.1.5/32")},
		// A remote site's IPv6: its /64.
		{"/ip6/2001:db8:1:2::1/tcp/4001", "/ip6/2001:db8:9:9::7/tcp/4001", addr("2001:db8:1:2::/64")},
		{"/ip6/2001:db8:1:2:ffff::9/udp/1/quic-v1", "", addr("2001:db8:1:2::/64")},
		// The venue's own /64 (SLAAC: every laptop in it): the address.
		{"/ip6/2001:db8:1:2::1/tcp/4001", "/ip6/2001:db8:1:2::7/tcp/4001", addr("2001:db8:1:2::1/128")},
		{"/ip6/fe80::1/tcp/4001", "", addr("fe80::1/128")},
		{"/ip6/fe80::2/tcp/4001", "", addr("fe80::2/128")},
		{"/ip6/fd00:1:2:3::1/tcp/4001", "", addr("fd00:1:2:3::1/128")},
		{"/ip6/64:ff9b::c000:207/tcp/4001", "", addr("64:ff9b::c000:207/128")},
		// Relayed: the relay's address.
		{"/ip4/192.0.2.7/tcp/4001" + relay, "", addr("192.0.2.7/32")},
		{"/ip6/2001:db8:1:2::1/udp/1/quic-v1" + relay, "", addr("2001:db8:1:2::1/128")},
		{"/ip4/127.0.0.1/tcp/4001" + relay, "", holder{p: x}},
		{"/ip4/127.0.0.1/tcp/4001", "", holder{p: x}},
		{"/ip6/::1/tcp/4001", "", holder{p: x}},
		{"", "", holder{p: x}},
	} {
		var remote, local multiaddr.Multiaddr
		if tc.remote != "" {
			remote = multiaddr.StringCast(tc.remote)
		}
		if tc.local != "" {
			local = multiaddr.StringCast(tc.local)
		}
		if got := holderOf(x, remote, local); got != tc.want {
			t.Errorf("holderOf(%q, %q) = %+v, want %+v", tc.remote, tc.local, got, tc.want)
		}
	}
}
