package mesh

import (
	"slices"
	"testing"
	"time"

	"github.com/convene/convene/node/recon"
)

// TestOfferedFirst: a session asks for offered items before the rest of
// what it lacks, and never twice for an item that is offered and later
// reported needed too (the peer would take that as fishing).
func TestOfferedFirst(t *testing.T) {
	ix := recon.NewIndex()
	all := items(3 * maxRequestItems)
	ix.Insert(all[0])
	now := time.Now()
	offered := slices.Clone(all[2*maxRequestItems+5 : 2*maxRequestItems+15]) // late in clock order
	pl := &puller{c: newClaims(), prio: slices.Clone(offered), pending: slices.Clone(all)}
	first := pl.next(ix, now)
	if len(first) != maxRequestItems {
		t.Fatalf("first request: %d items", len(first))
	}
	for _, it := range offered {
		if _, ok := slices.BinarySearchFunc(first, it, recon.Item.Compare); !ok {
			t.Fatalf("offered item %s not in the first request", it)
		}
	}
	seen := make(map[recon.Item]int)
	for _, it := range first {
		seen[it]++
	}
	for {
		req := pl.next(ix, now)
		if req == nil {
			break
		}
		for _, it := range req {
			seen[it]++
		}
	}
	if len(seen) != len(all)-1 {
		t.Errorf("asked for %d items, want every one the index lacks (%d)", len(seen), len(all)-1)
	}
	for it, n := range seen {
		if n != 1 {
			t.Errorf("asked for %s %d times", it, n)
		}
	}
	if pl.waiting() != 0 {
		t.Errorf("%d items still waiting", pl.waiting())
	}
}
