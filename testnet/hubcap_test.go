package testnet

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/multiformats/go-multiaddr"

	"github.com/convene/convene/crdt"
)

// TestHubCapacity runs the benchmark's hub part (bench -only hub) at a tiny
// size, with the hub in this process, so that it cannot rot: every laptop
// of every gathering ends with the same log, all of it through the hub.
func TestHubCapacity(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	res, err := HubCapacity(testContext(t), HubCapOptions{
		Gatherings: 3, Laptops: 2, Ops: 4, Dir: dir,
		StartHub: func(ctx context.Context, tickets []crdt.Ticket) (multiaddr.Multiaddr, error) {
			r, addr, err := OpenHub(ctx, filepath.Join(dir, "hub"), tickets, nil)
			if err != nil {
				return nil, err
			}
			t.Cleanup(func() { r.Close() })
			return addr, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Ops != 3*2*4 || res.BytesIn == 0 || res.BytesOut == 0 {
		t.Fatalf("result %+v: want 24 operations and bytes both ways", res)
	}
	t.Logf("%+v", res)
}
