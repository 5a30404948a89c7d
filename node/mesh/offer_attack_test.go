package mesh_test

import (
	"encoding/binary"
	"testing"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/node/mesh"
	"github.com/convene/convene/node/recon"
)

// TestOffersBounded: peers taking turns offering ids that do not exist
// ('H' frames, each session up to its cap) cannot make a node remember
// more of them for its catch-up than a bound, however many sessions
// offer; past it the priority set does not count as held.
func TestOffersBounded(t *testing.T) {
	b, creds := newGathering(t)
	g := creds.Derive().Gathering
	mb := member(t, b, mesh.Config{})
	next := int64(1)
	// Each attacker's session offers a session's worth of fresh ids, then
	// starts reconciling, and waits for the answer: by then the node has
	// taken every offer (it reads a session's frames in order). The
	// session stays open, lacking what was offered.
	attack := func() {
		h := bareHost(t)
		dialMesh(t, h, mb)
		w := newWire(t, openSession(t, h, mb, g))
		for range mesh.MaxPriority / 512 {
			items := make([]recon.Item, 512)
			for i := range items {
				items[i] = recon.Item{Clock: crdt.Clock{Wall: next}}
				binary.BigEndian.PutUint64(items[i].ID[:], uint64(next))
				next++
			}
			w.send('H', mesh.EncodeOffer(items))
		}
		msg, err := recon.NewReconciler(recon.NewIndex(), recon.Options{}).Initiate()
		if err != nil {
			t.Fatal(err)
		}
		w.send('R', msg)
		w.until('R')
	}
	for range 3 {
		attack()
	}
	if n := mesh.Wanted(mb, g); n > 2*mesh.MaxPriority {
		t.Errorf("the node remembers %d offered items, after 3 sessions of %d", n, mesh.MaxPriority)
	}
	h := mb.History(g)
	if !h.Arriving || h.PriorityHeld {
		t.Errorf("history %+v: want arriving, the priority set not held", h)
	}
}

// TestCappedPeerGone: a peer that makes its session capped (by listing
// more ids than a session holds) and then goes does not leave the node's
// catch-up "arriving" for good: the follow-up it promised cannot come.
func TestCappedPeerGone(t *testing.T) {
	b, creds := newGathering(t)
	g := creds.Derive().Gathering
	mb := member(t, b, mesh.Config{})

	// The attacker reconciles honestly over made-up items, more than a
	// session reports, answers every request empty, and does not serve
	// the follow-up session.
	ix := recon.NewIndex()
	for i := range recon.DefaultMaxItems + 1000 {
		it := recon.Item{Clock: crdt.Clock{Wall: int64(i + 1)}}
		binary.BigEndian.PutUint64(it.ID[:], uint64(i+1))
		ix.Insert(it)
	}
	h := bareHost(t)
	dialMesh(t, h, mb)
	w := newWire(t, openSession(t, h, mb, g))
	rc := recon.NewReconciler(ix, recon.Options{})
	msg, err := rc.Initiate()
	if err != nil {
		t.Fatal(err)
	}
	w.send('R', msg)
	sentEnd, peerDone := false, false
	for !sentEnd || !peerDone {
		typ, p, _, err := w.read()
		if err != nil && sentEnd {
			break // a capped session ends in a reset, its 'E' sent or not
		}
		if err != nil {
			t.Fatalf("session: %v", err)
		}
		switch typ {
		case 'R':
			reply, _, _, done, err := rc.Reconcile(p)
			if err != nil {
				t.Fatal(err)
			}
			if reply != nil {
				w.send('R', reply)
			}
			if done && !sentEnd {
				w.send('E', nil)
				sentEnd = true
			}
		case 'Q':
			w.send('A', nil)
		case 'E':
			peerDone = true
		}
	}
	w.s.Close()
	waitFor(t, "the capped session to end", func() bool { return mesh.InboundSessions(mb, g) == 0 })
	if mb.Stats().Capped == 0 {
		t.Fatal("the session was not capped")
	}
	if !mb.History(g).Arriving {
		t.Fatal("a capped session's follow-up is not awaited")
	}
	h.Close()
	waitFor(t, "the catch-up to stop waiting for a peer that left", func() bool { return !mb.History(g).Arriving })
}
