package mesh

import (
	"net/netip"
	"testing"
	"time"
)

func TestBans(t *testing.T) {
	now := time.Unix(1_900_000_000, 0)
	b := newBans(func() time.Time { return now })
	p, q := newPeerID(t), newPeerID(t)
	lan := netip.MustParseAddr("192.168.1.20")
	lo := netip.MustParseAddr("127.0.0.1")
	steps := []struct {
		name     string
		do       func()
		banned   bool // p
		acceptIP bool // a new connection from lan
	}{
		{"fresh", func() {}, false, true},
		{"strikes under the limit", func() { b.strike(p, maxBad-1, lan) }, false, true},
		{"the last strike bans", func() { b.strike(p, 1, lan) }, true, true}, // the first connection in the window is let in
		{"a second connection from the address is held back", func() {}, true, false},
		{"after ipAcceptEvery one more", func() { now = now.Add(ipAcceptEvery) }, true, true},
		{"loopback is not held back", func() {
			if !b.acceptIP(lo) || !b.acceptIP(lo) {
				t.Fatal("loopback held back")
			}
		}, true, false},
		{"another peer is not banned", func() {
			if b.banned(q) {
				t.Fatal("q banned")
			}
		}, true, false},
		{"the ban ends", func() { now = now.Add(banFor) }, false, true},
		{"a second ban lasts twice as long", func() {
			b.strike(p, maxBad, lan)
			now = now.Add(banFor + time.Second)
		}, true, true},
		{"and ends", func() { now = now.Add(banFor) }, false, true},
	}
	for _, s := range steps {
		s.do()
		if got := b.banned(p); got != s.banned {
			t.Fatalf("%s: banned = %v, want %v", s.name, got, s.banned)
		}
		if got := b.acceptIP(lan); got != s.acceptIP {
			t.Fatalf("%s: acceptIP = %v, want %v", s.name, got, s.acceptIP)
		}
	}
	if got := b.strikes(p); got != 2*maxBad {
		t.Fatalf("strikes = %d, want %d", got, 2*maxBad)
	}
}
