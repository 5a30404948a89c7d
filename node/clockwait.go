package node

import (
	"context"
	"fmt"
	"time"

	"github.com/convene/convene/crdt"
)

// FirstClockWait bounds how long the first local writes wait for the
// room's time. A laptop whose clock is an hour ahead and that writes
// before it has measured its offset stamps the operation an hour ahead;
// its hybrid clock then keeps every later operation at least as late
// (an operation must order after what it refers to), so the others hold
// all of them back as "not accepted yet" for that hour. Peers usually
// answer the time within a second of start (remembered peers, mDNS), so a
// write made in the first clockWaitWindow after Open, before that answer,
// waits for it: at most FirstClockWait from the first such wait, once per
// run. A laptop alone, or one writing later, never waits.
const (
	FirstClockWait  = 3 * time.Second
	clockWaitWindow = 30 * time.Second
)

// awaitClock waits, outside every lock, until the room's time is known,
// or FirstClockWait has passed since the first wait, or ctx ends (the
// write then goes ahead with the local clock: a wait is only to stamp
// better). The waits are real time: they bound how long a person waits.
func (n *Node) awaitClock(ctx context.Context) {
	if n.clockReady == nil {
		return
	}
	select {
	case <-n.clockReady:
		return
	default:
	}
	if time.Since(n.clockOpened) > clockWaitWindow {
		return
	}
	n.clockWaitOnce.Do(func() { time.AfterFunc(FirstClockWait, func() { close(n.clockWaitOver) }) })
	select {
	case <-n.clockReady:
	case <-n.clockWaitOver:
	case <-ctx.Done():
	}
}

// noteAhead adds to c how far this laptop's own operations are stamped
// ahead of the room's time when that is further than others accept
// (crdt.MaxDriftMillis): made before its clock was corrected, they reach
// the others only once the room's time catches up, and the laptop says so
// at once rather than look synced.
func (n *Node) noteAhead(c *ClockStatus) {
	ahead := time.Duration(n.hlcWall.Load()-n.now().UnixMilli()) * time.Millisecond
	if ahead <= crdt.MaxDriftMillis*time.Millisecond {
		return
	}
	c.AheadMS, c.Warning = ahead.Milliseconds(), true
	note := fmt.Sprintf("operations made here before the clock was corrected are stamped %s ahead of the room: the others accept them in about %s",
		roughly(ahead), roughly(ahead-crdt.MaxDriftMillis*time.Millisecond))
	if c.Message != "" {
		note = c.Message + "; " + note
	}
	c.Message = note
}
