package mesh_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/node"
	"github.com/convene/convene/node/mesh"
	"github.com/convene/convene/node/store"
)

// sessionWith runs reconciliations of g from m until one completes.
func sessionWith(t *testing.T, m *mesh.Mesh, g crdt.GatheringID) {
	t.Helper()
	before := m.Stats().Sessions
	waitFor(t, "a completed reconciliation", func() bool {
		m.SyncNow(testContext(t), g)
		return m.Stats().Sessions > before
	})
}

// unpenalized checks that m is still connected to p and holds nothing
// against it.
func unpenalized(t *testing.T, m *mesh.Mesh, p peer.ID) {
	t.Helper()
	if m.Host().Network().Connectedness(p) != network.Connected {
		t.Error("the peer was disconnected")
	}
	if ti := m.Host().ConnManager().GetTagInfo(p); ti != nil && ti.Tags["convene-bad"] != 0 {
		t.Errorf("the peer was penalized: %v", ti.Tags)
	}
}

// TestFutureOperationsWait: operations from a laptop whose clock runs
// ahead are neither stored nor held against the peers that carry them;
// they arrive once they are no longer ahead.
func TestFutureOperationsWait(t *testing.T) {
	ctx := testContext(t)
	dirA := t.TempDir()
	creds, err := node.Init(ctx, dirA, "Clocks", "alice")
	if err != nil {
		t.Fatal(err)
	}
	const ahead = 10 * time.Minute // well past crdt.MaxDriftMillis
	a, err := node.Open(ctx, node.Config{Dir: dirA, Memory: true, Logger: testLogger(),
		Now: func() time.Time { return time.Now().Add(ahead) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	dirB := t.TempDir()
	if err := node.Join(ctx, dirB, creds, "bob"); err != nil {
		t.Fatal(err)
	}
	var offset atomic.Int64 // b's clock, ahead of real time by this
	b, err := node.Open(ctx, node.Config{Dir: dirB, Memory: true, Logger: testLogger(),
		Now: func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	g := creds.Derive().Gathering

	ma, mb := member(t, a, mesh.Config{}), member(t, b, mesh.Config{})
	connect(t, ma, mb)
	waitTopic(t, g, 1, ma, mb)
	// More than a peer may send of bad operations before it is dropped.
	ids := act(t, a, "ahead", 100)
	sessionWith(t, mb, g)
	for _, id := range ids {
		if has(t, b, id) {
			t.Fatalf("b stored %s, from %v ahead", id, ahead)
		}
	}
	unpenalized(t, mb, ma.Host().ID())
	if n := mb.Stats().Rejected; n != 0 {
		t.Errorf("%d operations counted as rejected", n)
	}

	// Once b's clock has caught up, the next round brings them.
	offset.Store(int64(ahead))
	// A session may store them in any order, and one in flight may still
	// be bringing the rest: wait for them all.
	waitFor(t, "the operations from ahead", func() bool {
		mb.SyncNow(testContext(t), g)
		for _, id := range ids {
			if !has(t, b, id) {
				return false
			}
		}
		return true
	})
}

// resealed makes a genuinely signed and admitted operation of the
// gathering whose payload no member can open, as the holder of a hub
// ticket could: the sealed payload altered, tagged with the ticket and the
// whole signed by another key (see crdt's envelope encoding).
func resealed(t *testing.T, tk crdt.Ticket, raw []byte) *crdt.Envelope {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	const tagSize = 16
	b := bytes.Clone(raw[:len(raw)-tagSize-ed25519.SignatureSize])
	copy(b[33:65], pub)
	b[len(b)-1] ^= 1
	mac := hmac.New(sha256.New, tk.Key[:])
	mac.Write(b)
	b = append(b, mac.Sum(nil)[:tagSize]...)
	b = append(b, ed25519.Sign(priv, b)...)
	e, err := crdt.AcceptSealed(crdt.GatheringID(raw[1:33]), b)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestUnreadableFromHubNotPenalized: a hub verifies signatures but cannot
// read payloads, so it holds and offers operations members cannot open.
// A member stores none of them and keeps the hub.
func TestUnreadableFromHubNotPenalized(t *testing.T) {
	ctx := testContext(t)
	a, creds := newGathering(t)
	b := joinNode(t, creds, "bob")
	g := creds.Derive().Gathering
	mh, hubLog := hub(t, creds.Derive().Ticket(), mesh.Config{})

	var bad []*crdt.Envelope
	for _, id := range act(t, a, "original", 100) {
		raw, _, err := a.Stored(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		bad = append(bad, resealed(t, creds.Derive().Ticket(), raw))
	}
	if _, err := hubLog.Put(ctx, bad); err != nil {
		t.Fatal(err)
	}

	mb := member(t, b, mesh.Config{})
	connect(t, mb, mh)
	sessionWith(t, mb, g)
	for _, e := range bad {
		if b.Log().Contains(store.Item{Clock: e.Clock, ID: e.ID()}) {
			t.Fatalf("b stored the unreadable %s", e.ID())
		}
	}
	unpenalized(t, mb, mh.Host().ID())
	// Counted, once each per session.
	if n := mb.Stats().Rejected; n == 0 || n%int64(len(bad)) != 0 {
		t.Errorf("%d operations counted as rejected, want a multiple of %d", n, len(bad))
	}
	// The sessions still carry the rest.
	waitFor(t, "b's operations at the hub", func() bool { return hubLog.Len() == len(bad)+b.Log().Len() })
}
