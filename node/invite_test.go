package node

import (
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
