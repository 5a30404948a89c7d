package mesh_test

import (
	"bufio"
	"encoding/binary"
	"testing"
	"time"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/internal/varint"
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
		s := openSession(t, h, mb, g)
		for range mesh.MaxPriority / 512 {
			items := make([]recon.Item, 512)
			for i := range items {
				items[i] = recon.Item{Clock: crdt.Clock{Wall: next}}
				binary.BigEndian.PutUint64(items[i].ID[:], uint64(next))
				next++
			}
			p := mesh.EncodeRequest(items)
			if _, err := s.Write(append(binary.AppendUvarint([]byte{'H'}, uint64(len(p))), p...)); err != nil {
				t.Fatal(err)
			}
		}
		msg, err := recon.NewReconciler(recon.NewIndex(), recon.Options{}).Initiate()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Write(append(binary.AppendUvarint([]byte{'R'}, uint64(len(msg))), msg...)); err != nil {
			t.Fatal(err)
		}
		_ = s.SetReadDeadline(time.Now().Add(testTimeout))
		r := bufio.NewReader(s)
		for {
			typ, err := r.ReadByte()
			if err != nil {
				t.Fatalf("waiting for the answer: %v", err)
			}
			n, err := varint.Read(r, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := r.Discard(int(n)); err != nil {
				t.Fatal(err)
			}
			if typ == 'R' {
				return
			}
		}
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
