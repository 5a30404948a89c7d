package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Two laptops without mDNS; one is killed (-9) and restarted with no
// --peer: it listens on its last ports again and dials the peer it
// remembers, and what the other wrote meanwhile arrives.
func TestRestartWithoutMDNSFindsTheRoom(t *testing.T) {
	t.Parallel()
	dirA, invite := initGathering(t, "Field")
	dirB := t.TempDir()
	cliOK(t, "join", "--data", dirB, "--identity", "Bea", invite)

	a := startNode(t, dirA, "--no-mdns")
	var addr string
	for _, s := range a.status().Addrs {
		if strings.HasPrefix(s, "/ip4/127.0.0.1/tcp/") {
			addr = s
		}
	}
	if addr == "" {
		t.Fatalf("A listens on no loopback TCP address: %v", a.status().Addrs)
	}
	b := startNode(t, dirB, "--no-mdns", "--listen", "/ip4/127.0.0.1/tcp/0")
	// B meets A by A dialling it: A is the one that must remember.
	bAddr := b.status().Addrs[0]
	a.signal(syscall.SIGTERM)
	a = startNode(t, dirA, "--no-mdns", "--peer", bAddr)
	eventually(t, "A synced with B", func() (bool, string) {
		st := a.status()
		return st.Freshness.Peers == 1, ""
	})
	// A saves what it learned as soon as it learns it; then it crashes.
	bID := b.status().PeerID
	eventually(t, "A remembers B", func() (bool, string) {
		raw, err := os.ReadFile(filepath.Join(dirA, "remembered-peers.json"))
		return err == nil && strings.Contains(string(raw), bID), string(raw)
	})
	a.signal(syscall.SIGKILL)

	var g struct{ ID string }
	b.call("POST", "/groups", map[string]any{"name": "Written while A was down"}, 201, &g)
	restart := time.Now()
	a = startNode(t, dirA, "--no-mdns")
	eventually(t, "A reconnected to B and has B's write", func() (bool, string) {
		code, _ := a.do("GET", "/groups/"+g.ID, nil)
		return code == 200, ""
	})
	t.Logf("after kill -9, A found the room again and converged %v after its restart (no mDNS, no --peer)", time.Since(restart).Round(10*time.Millisecond))
	if st := a.status(); !slices.Contains(st.Addrs, addr) {
		t.Errorf("A did not listen on its last port again: was %s, now %v", addr, st.Addrs)
	}
}
