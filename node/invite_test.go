package node

import (
	"slices"
	"strings"
	"testing"

	ma "github.com/multiformats/go-multiaddr"
)

func TestInviteRoundTrip(t *testing.T) {
	inv := Invite{Name: "Techie Congress 2026"}
	inv.Credentials.Secret[0] = 7
	inv.Credentials.Founder[31] = 9
	inv.Addrs = []ma.Multiaddr{ma.StringCast("/ip4/192.168.1.20/tcp/4001/p2p/12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp")}
	got, err := ParseInvite(inv.String())
	if err != nil {
		t.Fatal(err)
	}
	if got.Credentials != inv.Credentials || got.Name != inv.Name || len(got.Addrs) != 1 || !got.Addrs[0].Equal(inv.Addrs[0]) {
		t.Fatalf("round trip changed the invite: %+v", got)
	}
}

func TestParseInviteRejects(t *testing.T) {
	good := Invite{Name: "x"}.String()
	for name, s := range map[string]string{
		"empty":     "",
		"no prefix": strings.TrimPrefix(good, invitePrefix),
		"not b64":   invitePrefix + "!!!",
		"truncated": good[:len(good)-4],
		"trailing":  good + "AAAA",
		"huge":      invitePrefix + strings.Repeat("A", maxInviteLength),
	} {
		if _, err := ParseInvite(s); err == nil {
			t.Errorf("%s: accepted %q", name, s)
		}
	}
}

func FuzzParseInvite(f *testing.F) {
	f.Add(Invite{Name: "seed"}.String())
	f.Add(invitePrefix + "AQ")
	f.Fuzz(func(t *testing.T, s string) {
		inv, err := ParseInvite(s)
		if err != nil {
			return
		}
		again, err := ParseInvite(inv.String())
		if err != nil || again.Credentials != inv.Credentials || again.Name != inv.Name {
			t.Fatalf("re-encoding changed the invite: %v", err)
		}
	})
}

// An invite leaves out loopback addresses, which only lengthen it and its
// QR code, unless they are all the node has (a demo on one machine).
func TestInviteAddrsLeaveOutLoopback(t *testing.T) {
	const p = "/p2p/12D3KooWGzBiJ3wRSeb7wCnXUwUn6bHcUJdpwiC1ZsfPJDCMYZNV"
	lan := []string{"/ip4/192.168.1.20/tcp/4001" + p, "/ip6/2001:db8::7/udp/4001/quic-v1" + p}
	loop := []string{"/ip4/127.0.0.1/tcp/4001" + p, "/ip6/::1/udp/4001/quic-v1" + p}
	strs := func(ms []ma.Multiaddr) []string {
		out := []string{}
		for _, m := range ms {
			out = append(out, m.String())
		}
		return out
	}
	if got := strs(InviteAddrs(append(append([]string{}, loop[0]), append(lan, loop[1])...), nil)); !slices.Equal(got, lan) {
		t.Errorf("with LAN addresses: got %v, want %v", got, lan)
	}
	if got := strs(InviteAddrs(loop, nil)); !slices.Equal(got, loop) {
		t.Errorf("loopback only: got %v, want %v (a single-machine demo needs them)", got, loop)
	}
	if got := InviteAddrs([]string{"not an address", "/ip6/fe80::1/tcp/4001" + p}, nil); len(got) != 0 {
		t.Errorf("unparsable or link-local address kept: %v", got)
	}
}
