package node

import (
	"crypto/rand"
	"strconv"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// RememberPeers keeps the most recently seen peers, with their latest
// addresses, and LoadRemembered reads them back.
func TestRememberPeers(t *testing.T) {
	dir := t.TempDir()
	if got, err := LoadRemembered(dir); err != nil || len(got) != 0 {
		t.Fatalf("before any save: %v, %v", got, err)
	}
	newPeer := func(port int) peer.AddrInfo {
		_, pub, err := crypto.GenerateEd25519Key(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		id, err := peer.IDFromPublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		return peer.AddrInfo{ID: id, Addrs: []ma.Multiaddr{ma.StringCast("/ip4/192.0.2.1/tcp/" + itoa(port))}}
	}
	t0 := time.Date(2026, 3, 28, 9, 0, 0, 0, time.UTC)
	first := newPeer(4001)
	if err := RememberPeers(dir, []peer.AddrInfo{first}, t0); err != nil {
		t.Fatal(err)
	}
	var later []peer.AddrInfo
	for i := range maxRemembered {
		later = append(later, newPeer(5000+i))
	}
	moved := first
	moved.Addrs = []ma.Multiaddr{ma.StringCast("/ip4/192.0.2.1/tcp/4002")}
	if err := RememberPeers(dir, append(later[:maxRemembered-1:maxRemembered-1], moved), t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := RememberPeers(dir, later[maxRemembered-1:], t0.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	got, err := LoadRemembered(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != maxRemembered {
		t.Fatalf("%d remembered, want %d", len(got), maxRemembered)
	}
	if got[0].ID != later[maxRemembered-1].ID {
		t.Errorf("the most recent first: got %s", got[0].ID)
	}
	for _, ai := range got {
		if ai.ID == first.ID && ai.Addrs[0].String() != "/ip4/192.0.2.1/tcp/4002" {
			t.Errorf("a moved peer keeps its old address %s", ai.Addrs[0])
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
