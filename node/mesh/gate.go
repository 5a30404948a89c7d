package mesh

import (
	"context"
	"sync"
	"time"
)

// The learning gate. After a partition heals, a laptop meets a couple of
// dozen peers at once, and every session that starts before the first
// one's pulls are done names the same missing operations again: the claims
// (pull.go) keep each operation from being fetched twice, not from being
// named twice, and naming the difference (about 40 bytes an item, both
// ways) cost as much as the compressed operations themselves. So a
// gathering's sessions take turns: one starts learning a difference only
// once no other is still learning or pulling one, and by then what those
// brought is stored and the new session names only what is left.
//
// Both sides wait, but never for each other: an initiator waits (before
// opening the stream) for the sessions active here and for its own other
// initiators to be answered; a responder waits (before reading the first
// message) only for sessions active here, and an initiator's session
// counts as active only once its peer has answered, that is once both
// sides are past their gates. A session past both gates waits on no gate,
// so no chain of waits can close into a circle. Every wait is bounded
// (gateWait): a slow or silent peer delays the next session, it does not
// stop it.
const gateWait = 3 * time.Second

// seat is one session's place in the gate.
type seat struct{ _ byte }

// gate is a gathering's sessions that are learning or pulling a
// difference (active), and those this side initiated whose peer has not
// answered yet (opening).
type gate struct {
	mu      sync.Mutex
	active  map[*seat]struct{}
	opening map[*seat]struct{}
	changed chan struct{} // closed, and replaced, when a session leaves
}

func newGate() *gate {
	return &gate{active: make(map[*seat]struct{}), opening: make(map[*seat]struct{}), changed: make(chan struct{})}
}

// open waits, for at most wait, until no session is active or opening,
// and marks st opening.
func (g *gate) open(ctx context.Context, st *seat, wait time.Duration) error {
	return g.enter(ctx, wait, func() bool { return len(g.active) == 0 && len(g.opening) == 0 }, g.opening, st)
}

// admit waits, for at most wait, until no session is active, and marks
// st active.
func (g *gate) admit(ctx context.Context, st *seat, wait time.Duration) error {
	return g.enter(ctx, wait, func() bool { return len(g.active) == 0 }, g.active, st)
}

func (g *gate) enter(ctx context.Context, wait time.Duration, free func() bool, into map[*seat]struct{}, st *seat) error {
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		g.mu.Lock()
		ch := g.changed
		if free() {
			into[st] = struct{}{}
			g.mu.Unlock()
			return nil
		}
		g.mu.Unlock()
		select {
		case <-ch:
		case <-t.C:
			g.mu.Lock()
			into[st] = struct{}{}
			g.mu.Unlock()
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// set records whether st's session, answered by its peer, is learning or
// pulling; false also ends its opening.
func (g *gate) set(st *seat, busy bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	_, opening := g.opening[st]
	_, active := g.active[st]
	delete(g.opening, st)
	if busy {
		g.active[st] = struct{}{}
	} else {
		delete(g.active, st)
	}
	if (opening || active) && !busy {
		close(g.changed)
		g.changed = make(chan struct{})
	}
}
