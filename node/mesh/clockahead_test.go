package mesh_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/node"
	"github.com/convene/convene/node/mesh"
)

// A laptop an hour ahead that writes before it has met anyone stamps its
// operation an hour ahead; the stamp stays (it is signed, and what refers
// to it must order after it). The laptop warns as soon as it measures the
// room's time, saying its operations are ahead, and the others are not
// stuck with "not accepted yet" forever: when their time reaches the
// stamp, reconciliation brings the operation, without a restart.
func TestOpsStampedAheadAreAcceptedOnceTimeCatchesUp(t *testing.T) {
	const skew = time.Hour
	na, creds := newGathering(t)
	var later atomic.Int64 // how far the right laptop's time has moved on
	clockA := mesh.NewClock(func() time.Time { return time.Now().Add(time.Duration(later.Load())) })
	// The founder's node runs on the real clock; the right laptop is a
	// member whose time the test moves on.
	dir := t.TempDir()
	if err := node.Join(testContext(t), dir, creds, "right"); err != nil {
		t.Fatal(err)
	}
	nr, err := node.Open(testContext(t), node.Config{Dir: dir, Memory: true, Logger: testLogger(), Now: clockA.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nr.Close() })

	dir = t.TempDir()
	if err := node.Join(testContext(t), dir, creds, "ahead"); err != nil {
		t.Fatal(err)
	}
	clockB := mesh.NewClock(func() time.Time { return time.Now().Add(skew) })
	nb, err := node.Open(testContext(t), node.Config{Dir: dir, Memory: true, Logger: testLogger(), Now: clockB.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nb.Close() })
	early := act(t, nb, "before any peer", 1)[0]

	// Two right laptops: with one, the median of two voices that disagree
	// corrects neither.
	a := member(t, nr, mesh.Config{Clock: clockA, SyncInterval: 200 * time.Millisecond})
	b := member(t, nb, mesh.Config{Clock: clockB, SyncInterval: 200 * time.Millisecond})
	connect(t, b, a)
	connect(t, b, member(t, na, mesh.Config{}))
	waitFor(t, "the laptop ahead measured the room", func() bool { _, n := clockB.Status(); return n == 2 })
	st := nb.Status().Clock
	if !st.Warning || st.AheadMS < (skew-time.Minute).Milliseconds() {
		t.Fatalf("the laptop ahead does not warn about its operations: %+v", st)
	}

	// The right laptop's time reaches the stamp.
	later.Store(int64(skew))
	waitFor(t, "the early operation on the right laptop", func() bool { return has(t, nr, early) })
}

// A write made before the laptop has measured the room's time waits for
// that measurement (node.Config.ClockReady, at most node.FirstClockWait
// after start), so that a laptop an hour ahead that writes at once is
// still stamped with the room's time and accepted at once.
func TestFirstWriteWaitsForTheRoomsTime(t *testing.T) {
	const skew = time.Hour
	na, creds := newGathering(t)
	nc := joinNode(t, creds, "carol")
	// The peers are up before the laptop starts: the wait is counted
	// from its node's Open.
	ma, mc := member(t, na, mesh.Config{}), member(t, nc, mesh.Config{})
	dir := t.TempDir()
	if err := node.Join(testContext(t), dir, creds, "ahead"); err != nil {
		t.Fatal(err)
	}
	clock := mesh.NewClock(func() time.Time { return time.Now().Add(skew) })
	// On disk: an in-memory node announces its identity at Open, stamped
	// with the wrong clock before any peer could answer.
	nb, err := node.Open(testContext(t), node.Config{Dir: dir, Logger: testLogger(), Now: clock.Now, ClockReady: clock.Measured()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nb.Close() })
	b := member(t, nb, mesh.Config{Clock: clock, SyncInterval: 200 * time.Millisecond})
	// The write starts before any peer is connected.
	wrote := make(chan []crdt.OpID, 1)
	go func() { wrote <- act(t, nb, "at once", 1) }()
	connect(t, b, ma)
	connect(t, b, mc)
	id := (<-wrote)[0]
	raw, ok, err := nb.Stored(testContext(t), id)
	if err != nil || !ok {
		t.Fatalf("the write is not in the log: %v", err)
	}
	e, err := crdt.DecodeEnvelope(raw)
	if err != nil {
		t.Fatal(err)
	}
	if ahead := time.Duration(e.Clock.Wall-time.Now().UnixMilli()) * time.Millisecond; ahead > time.Minute {
		t.Fatalf("the first write is stamped %v ahead of the room", ahead)
	}
	waitFor(t, "the write of the laptop ahead on the others", func() bool { return has(t, na, id) && has(t, nc, id) })
}
