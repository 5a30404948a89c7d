package mesh

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
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
// stop it; and it delays it only while its hold budget lasts (below).
const gateWait = 3 * time.Second

// A peer's hold on the gate is bounded too. Without that, a peer that
// keeps its sessions learning (it opens one and stalls, or answers
// nothing as the initiator's peer) makes every other session of the
// gathering wait its whole bound, session after session. So the seats of
// each holder (a peer's address, see holder.go) count what they held the
// gate for (in active or opening), and that debt leaks holdBudget each
// holdWindow: a holder over holdBudget no longer blocks anyone. Its
// sessions still take their turn behind the others; the others no longer
// wait for them. An honest peer's sessions
// hold the gate for a round trip, or for a catch-up's pulls, which the
// bound on each wait already let others pass after gateWait; a peer can
// make others wait at most about holdBudget a holdWindow. The debt a
// session leaves is capped (holdCap), so a peer that held long (the one
// a laptop's first catch-up came from) blocks again after a window
// without holding.
const (
	holdBudget = gateWait
	holdWindow = time.Minute
	holdCap    = 2 * holdBudget
)

// seat is one session's place in the gate.
type seat struct {
	h     holder
	since time.Time // when it took its place in active or opening
}

// newSeat makes a seat for a session with p over c (nil if not known).
func newSeat(p peer.ID, c network.Conn) *seat { return &seat{h: connHolder(p, c)} }

// gate is a gathering's sessions that are learning or pulling a
// difference (active), and those this side initiated whose peer has not
// answered yet (opening).
type gate struct {
	mu      sync.Mutex
	active  map[*seat]struct{}
	opening map[*seat]struct{}
	held    map[holder]debt // what ended holds still count for
	changed chan struct{}   // closed, and replaced, when a session leaves
	// timeouts counts the waits that ran out their bound (Stats).
	timeouts *atomic.Int64
}

// debt is a holder's hold of the gate, as of at; it leaks at holdBudget a
// holdWindow.
type debt struct {
	d  time.Duration
	at time.Time
}

func (d debt) left(now time.Time) time.Duration {
	return max(d.d-now.Sub(d.at)/(holdWindow/holdBudget), 0)
}

func newGate(timeouts *atomic.Int64) *gate {
	return &gate{
		active: make(map[*seat]struct{}), opening: make(map[*seat]struct{}),
		held: make(map[holder]debt), changed: make(chan struct{}), timeouts: timeouts,
	}
}

// open waits, for at most wait, until no session that blocks is active or
// opening, and marks st opening.
func (g *gate) open(ctx context.Context, st *seat, wait time.Duration) error {
	return g.enter(ctx, wait, true, g.opening, st)
}

// admit waits, for at most wait, until no session that blocks is active,
// and marks st active.
func (g *gate) admit(ctx context.Context, st *seat, wait time.Duration) error {
	return g.enter(ctx, wait, false, g.active, st)
}

// blocked reports whether a session that blocks is active (or opening,
// if opening is set), and if so how long until the first of their peers
// runs out of its hold budget. Callers hold g.mu.
func (g *gate) blocked(now time.Time, opening bool) (bool, time.Duration) {
	loads := make(map[holder]time.Duration)
	var seats []*seat
	for _, m := range []map[*seat]struct{}{g.active, g.opening} {
		for st := range m {
			loads[st.h] += now.Sub(st.since)
			seats = append(seats, st)
		}
	}
	block, soonest := false, time.Duration(0)
	for h := range loads {
		loads[h] += g.held[h].left(now)
	}
	for _, st := range seats {
		if _, active := g.active[st]; !active && !opening {
			continue
		}
		if rest := holdBudget - loads[st.h]; rest > 0 {
			if !block || rest < soonest {
				soonest = rest
			}
			block = true
		}
	}
	return block, soonest
}

func (g *gate) enter(ctx context.Context, wait time.Duration, opening bool, into map[*seat]struct{}, st *seat) error {
	bound := time.NewTimer(wait)
	defer bound.Stop()
	var recheck *time.Timer
	defer func() {
		if recheck != nil {
			recheck.Stop()
		}
	}()
	take := func(timedOut bool) {
		now := time.Now()
		if timedOut {
			if block, _ := g.blocked(now, opening); block && g.timeouts != nil {
				g.timeouts.Add(1)
			}
		}
		st.since = now
		into[st] = struct{}{}
	}
	for {
		g.mu.Lock()
		ch := g.changed
		block, rest := g.blocked(time.Now(), opening)
		if !block {
			take(false)
			g.mu.Unlock()
			return nil
		}
		g.mu.Unlock()
		// Wake when a session leaves, or when the first holder runs out
		// of its budget.
		// (A little past it: the debt leaks as the hold grows.)
		rest += rest/16 + time.Millisecond
		if recheck == nil {
			recheck = time.NewTimer(rest)
		} else {
			recheck.Reset(rest)
		}
		select {
		case <-ch:
		case <-recheck.C:
		case <-bound.C:
			g.mu.Lock()
			take(true)
			g.mu.Unlock()
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// rekey charges st to h from now on: the holder of a session this side
// initiates is known for sure only once its stream is open (see
// seatFor).
func (g *gate) rekey(st *seat, h holder) {
	g.mu.Lock()
	st.h = h
	g.mu.Unlock()
}

// set records whether st's session, answered by its peer, is learning or
// pulling; false also ends its opening.
func (g *gate) set(st *seat, busy bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := time.Now()
	_, opening := g.opening[st]
	_, active := g.active[st]
	delete(g.opening, st)
	if busy {
		if !opening && !active {
			st.since = now // busy again after a pause
		}
		g.active[st] = struct{}{}
		return
	}
	delete(g.active, st)
	if opening || active {
		g.charge(st, now)
		close(g.changed)
		g.changed = make(chan struct{})
	}
}

// charge adds what st held the gate for to its holder's debt, and forgets
// debts that leaked away. Callers hold g.mu.
func (g *gate) charge(st *seat, now time.Time) {
	for h, d := range g.held {
		if d.left(now) == 0 {
			delete(g.held, h)
		}
	}
	d := g.held[st.h]
	g.held[st.h] = debt{d: min(d.left(now)+now.Sub(st.since), holdCap), at: now}
}
