package crdt

import (
	"fmt"
	"math"
)

// Clock is a hybrid logical clock stamp: milliseconds since the Unix epoch,
// and a counter that orders stamps within one millisecond.
type Clock struct {
	Wall    int64  // Unix milliseconds
	Logical uint32 // tie-breaker within one Wall value
}

// MaxDriftMillis is how far ahead of a receiver's physical time an operation's
// clock may be. Anything later is refused at ingest, so a laptop with a clock
// set in the future cannot win every last-writer-wins field for long.
const MaxDriftMillis = 5 * 60 * 1000

// Compare orders two stamps: -1, 0 or +1.
func (c Clock) Compare(d Clock) int {
	switch {
	case c.Wall < d.Wall:
		return -1
	case c.Wall > d.Wall:
		return 1
	case c.Logical < d.Logical:
		return -1
	case c.Logical > d.Logical:
		return 1
	}
	return 0
}

// Less reports whether c orders before d.
func (c Clock) Less(d Clock) bool { return c.Compare(d) < 0 }

func (c Clock) String() string { return fmt.Sprintf("%d.%d", c.Wall, c.Logical) }

// HLC issues clock stamps for one node. It never goes backwards, and it
// moves past every stamp it has observed, so a local operation always orders
// after everything its author could have seen.
//
// HLC is not safe for concurrent use; the node serialises access.
type HLC struct {
	last Clock
}

// Now returns a stamp later than every stamp issued or observed so far.
// physical is the caller's wall clock in Unix milliseconds.
func (h *HLC) Now(physical int64) Clock {
	switch {
	case physical > h.last.Wall:
		h.last = Clock{Wall: physical}
	case h.last.Logical == math.MaxUint32:
		// The counter is spent: borrow the next millisecond rather than
		// wrap to a stamp that orders before the last one.
		h.last = Clock{Wall: h.last.Wall + 1}
	default:
		h.last.Logical++
	}
	return h.last
}

// Observe folds a remote stamp into the clock. Callers must have checked
// the stamp against MaxDriftMillis first (see CheckDrift).
func (h *HLC) Observe(c Clock) {
	if h.last.Less(c) {
		h.last = c
	}
}

// Last is the latest stamp issued or observed.
func (h *HLC) Last() Clock { return h.last }

// CheckDrift refuses a stamp too far ahead of the physical time.
func CheckDrift(c Clock, physical int64) error {
	if c.Wall > physical+MaxDriftMillis {
		return fmt.Errorf("%w: clock %s is %d ms ahead of local time", ErrFuture, c, c.Wall-physical)
	}
	return nil
}
