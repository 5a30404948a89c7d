package mesh

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// TestGateHoldBudget: the gate's accounting, on seats set by hand (the
// real attack is TestGateHolderBounded). A peer's seat, active or opening,
// blocks others while the peer's debt and its current holds are under
// holdBudget; a debt leaks holdBudget a holdWindow.
func TestGateHoldBudget(t *testing.T) {
	ctx := context.Background()
	x, y := peer.ID("x"), peer.ID("y")
	var timeouts atomic.Int64
	g := newGate(&timeouts)
	// Short bounds: a wait here either passes at once or runs out.
	const wait = 50 * time.Millisecond

	// x's seat, opening, over its budget: it blocks no one.
	sx := newSeat(x)
	if err := g.open(ctx, sx, wait); err != nil {
		t.Fatal(err)
	}
	g.held[x] = debt{d: holdBudget, at: time.Now()}
	if err := g.open(ctx, newSeat(y), wait); err != nil {
		t.Fatal(err)
	}
	if n := timeouts.Load(); n != 0 {
		t.Fatalf("an over-budget peer's opening seat made %d waits run out", n)
	}

	// y's opening seat is within its budget: another opening waits it
	// out, a responder does not wait for an opening seat.
	if err := g.open(ctx, newSeat(x), wait); err != nil {
		t.Fatal(err)
	}
	if n := timeouts.Load(); n != 1 {
		t.Fatalf("%d waits ran out, want 1 (for y's opening seat)", n)
	}
	if err := g.admit(ctx, newSeat(x), wait); err != nil {
		t.Fatal(err)
	}
	if n := timeouts.Load(); n != 1 {
		t.Fatalf("%d waits ran out, want still 1: admit waits only for active seats", n)
	}

	// A seat that ends charges its peer, capped; the debt leaks.
	sy := newSeat(y)
	sy.since = time.Now().Add(-time.Hour)
	g.opening[sy] = struct{}{}
	g.set(sy, false)
	if d := g.held[y].d; d != holdCap {
		t.Errorf("an hour's hold left a debt of %v, want the cap %v", d, holdCap)
	}
	now := time.Now()
	if left := (debt{d: holdCap, at: now.Add(-holdWindow)}).left(now); left != holdCap-holdBudget {
		t.Errorf("after a window, %v of a %v debt left, want %v", left, holdCap, holdCap-holdBudget)
	}
	if left := (debt{d: holdCap, at: now.Add(-2 * holdWindow)}).left(now); left != 0 {
		t.Errorf("after two windows, %v of a %v debt left, want none", left, holdCap)
	}
}
