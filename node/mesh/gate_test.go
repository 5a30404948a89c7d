package mesh

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multiaddr"
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
	sx := newSeat(x, nil)
	if err := g.open(ctx, sx, wait); err != nil {
		t.Fatal(err)
	}
	g.held[holder{p: x}] = debt{d: holdBudget, at: time.Now()}
	if err := g.open(ctx, newSeat(y, nil), wait); err != nil {
		t.Fatal(err)
	}
	if n := timeouts.Load(); n != 0 {
		t.Fatalf("an over-budget peer's opening seat made %d waits run out", n)
	}

	// y's opening seat is within its budget: another opening waits it
	// out, a responder does not wait for an opening seat.
	if err := g.open(ctx, newSeat(x, nil), wait); err != nil {
		t.Fatal(err)
	}
	if n := timeouts.Load(); n != 1 {
		t.Fatalf("%d waits ran out, want 1 (for y's opening seat)", n)
	}
	if err := g.admit(ctx, newSeat(x, nil), wait); err != nil {
		t.Fatal(err)
	}
	if n := timeouts.Load(); n != 1 {
		t.Fatalf("%d waits ran out, want still 1: admit waits only for active seats", n)
	}

	// A seat that ends charges its peer, capped; the debt leaks.
	sy := newSeat(y, nil)
	sy.since = time.Now().Add(-time.Hour)
	g.opening[sy] = struct{}{}
	g.set(sy, false)
	if d := g.held[holder{p: y}].d; d != holdCap {
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

// TestGateHolderByAddress: ids are free, so a member that stalls sessions
// under many ids from one address has one hold budget, not one per id.
func TestGateHolderByAddress(t *testing.T) {
	ctx := context.Background()
	var timeouts atomic.Int64
	g := newGate(&timeouts)
	const wait = 50 * time.Millisecond
	at := func(p peer.ID, addr string) *seat {
		return &seat{h: holderOf(p, multiaddr.StringCast(addr), nil)}
	}
	// x, at 192.168.1.5, has spent the address's budget; y, a new id at
	// the same address, opens a session and stalls it.
	g.held[at("x", "/ip4/192.168.1.5/tcp/1").h] = debt{d: holdBudget, at: time.Now()}
	if err := g.open(ctx, at("y", "/ip4/192.168.1.5/tcp/2"), wait); err != nil {
		t.Fatal(err)
	}
	// An honest peer elsewhere does not wait for y.
	if err := g.open(ctx, at("z", "/ip4/192.168.1.9/tcp/1"), wait); err != nil {
		t.Fatal(err)
	}
	if n := timeouts.Load(); n != 0 {
		t.Fatalf("a fresh id at an address over its budget made %d waits run out", n)
	}
	// z's seat, within its address's budget, still blocks the next.
	if err := g.open(ctx, at("w", "/ip4/192.168.1.10/tcp/1"), wait); err != nil {
		t.Fatal(err)
	}
	if n := timeouts.Load(); n != 1 {
		t.Fatalf("%d waits ran out, want 1 (for z's opening seat)", n)
	}

	// A seat opened before its stream showed its address, and charged
	// to the peer's id, is charged to the address once it is known: v's
	// stream came from the spent address, so v blocks no one.
	h := newGate(&timeouts)
	h.held[at("x", "/ip4/192.168.1.5/tcp/1").h] = debt{d: holdBudget, at: time.Now()}
	sv := newSeat("v", nil)
	if err := h.open(ctx, sv, wait); err != nil {
		t.Fatal(err)
	}
	h.rekey(sv, at("v", "/ip4/192.168.1.5/tcp/3").h)
	before := timeouts.Load()
	if err := h.open(ctx, at("u", "/ip4/192.168.1.11/tcp/1"), wait); err != nil {
		t.Fatal(err)
	}
	if n := timeouts.Load() - before; n != 0 {
		t.Fatalf("a seat rekeyed to a spent address made %d waits run out", n)
	}
}
