package node

import (
	"context"
	"sync"
	"testing"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/node/mesh"
)

// TestConcurrentTakes: batches taken at once, overlapping, are committed
// (in joint writes where they meet) so that each operation is stored once
// and reported new to exactly one caller, as a hub forwards.
func TestConcurrentTakes(t *testing.T) {
	ctx := context.Background()
	a, _ := initNode(t, true)
	_, _, proposal := workshop(t, a)
	comments, _ := sealComments(t, a, proposal, 800)
	all := append(raws(t, a), comments...)
	b := joinNode(t, a.Credentials(), false)
	before := b.Status().Ops

	const callers = 8
	step := len(all) / callers
	fresh := make([][]*crdt.Envelope, callers)
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		// Each batch overlaps the next one by half.
		batch := all[i*step : min((i+2)*step, len(all))]
		if i == callers-1 {
			batch = all[i*step:]
		}
		wg.Go(func() {
			res, err := b.Take(ctx, batch, mesh.KeepGood)
			fresh[i], errs[i] = res.Fresh, err
		})
	}
	wg.Wait()
	seen := make(map[crdt.OpID]int)
	for i := range callers {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		for _, e := range fresh[i] {
			if j, dup := seen[e.ID()]; dup {
				t.Fatalf("%s reported new to callers %d and %d", e.ID(), j, i)
			}
			seen[e.ID()] = i
		}
	}
	if len(seen) != len(all) {
		t.Fatalf("%d operations reported new, want %d", len(seen), len(all))
	}
	if got := b.Status().Ops - before; got != len(all) {
		t.Fatalf("%d operations stored, want %d", got, len(all))
	}
}
