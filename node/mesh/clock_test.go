package mesh_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/convene/convene/node"
	"github.com/convene/convene/node/mesh"
)

// A laptop an hour ahead learns the room's time from its peers, warns, and
// stamps its operations with the room's time, so that they are accepted at
// once instead of an hour later.
func TestClockOffsetFromPeers(t *testing.T) {
	const skew = time.Hour
	na, creds := newGathering(t)
	nb := joinNode(t, creds, "bob")
	dir := t.TempDir()
	if err := node.Join(testContext(t), dir, creds, "carol"); err != nil {
		t.Fatal(err)
	}
	// The clock goes wrong after start-up: operations a laptop made before
	// it met any peer carry its wrong time, and its hybrid logical clock
	// keeps later ones at least as late (see docs/DECISIONS.md).
	var wrong atomic.Int64
	clock := mesh.NewClock(func() time.Time { return time.Now().Add(time.Duration(wrong.Load())) })
	nc, err := node.Open(testContext(t), node.Config{Dir: dir, Memory: true, Logger: testLogger(), Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	wrong.Store(int64(skew))

	a, b := member(t, na, mesh.Config{}), member(t, nb, mesh.Config{})
	c := member(t, nc, mesh.Config{Clock: clock})
	connect(t, a, b)
	connect(t, c, a)
	connect(t, c, b)
	waitFor(t, "c measured from both peers", func() bool {
		_, n := clock.Status()
		return n == 2
	})
	if off := clock.Offset(); (off + skew).Abs() > time.Second {
		t.Fatalf("offset %v, want about %v", off, -skew)
	}
	for _, m := range []*mesh.Mesh{a, b} {
		waitFor(t, "a and b measured", func() bool { _, n := m.Clock().Status(); return n == 2 })
		if off := m.Clock().Offset(); off.Abs() > time.Second {
			t.Fatalf("a right clock corrected by %v", off)
		}
	}
	ids := act(t, nc, "from the laptop ahead", 3)
	waitFor(t, "c's writes on a and b", func() bool {
		for _, id := range ids {
			if !has(t, na, id) || !has(t, nb, id) {
				return false
			}
		}
		return true
	})
}

func TestMedianOffset(t *testing.T) {
	for _, tc := range []struct {
		peers []time.Duration
		want  time.Duration
	}{
		{nil, 0},
		{[]time.Duration{time.Hour}, 0},
		{[]time.Duration{time.Hour, time.Hour}, time.Hour},
		{[]time.Duration{-time.Hour, 0, time.Second}, 0},
		{[]time.Duration{time.Hour, time.Hour, time.Hour}, time.Hour},
	} {
		if got := mesh.MedianOffset(tc.peers); got != tc.want {
			t.Errorf("median of %v and this laptop's 0: %v, want %v", tc.peers, got, tc.want)
		}
	}
}
