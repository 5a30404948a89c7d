package mesh_test

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/node/mesh"
	"github.com/convene/convene/node/recon"
)

// Outsiders speaking the reconciliation protocol by hand.

// fakeClock is an injected clock that tests move by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Unix(1_900_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// wire is one side of a session's stream, spoken by hand.
type wire struct {
	t *testing.T
	s network.Stream
	r *bufio.Reader
}

func newWire(t *testing.T, s network.Stream) *wire {
	return &wire{t: t, s: s, r: bufio.NewReader(s)}
}

// send writes a frame and returns its size.
func (w *wire) send(typ byte, payload []byte) int {
	w.t.Helper()
	n, err := w.write(typ, payload)
	if err != nil {
		w.t.Fatal(err)
	}
	return n
}

// write is send for a goroutine other than the test's (a stream
// handler's): it returns the error rather than end the test.
func (w *wire) write(typ byte, payload []byte) (int, error) {
	f := binary.AppendUvarint([]byte{typ}, uint64(len(payload)))
	f = append(f, payload...)
	_, err := w.s.Write(f)
	return len(f), err
}

// read reads a frame; err is the stream's when it ends.
func (w *wire) read() (typ byte, payload []byte, size int, err error) {
	_ = w.s.SetReadDeadline(time.Now().Add(testTimeout))
	if typ, err = w.r.ReadByte(); err != nil {
		return 0, nil, 0, err
	}
	n, err := binary.ReadUvarint(w.r)
	if err != nil {
		return 0, nil, 0, err
	}
	payload = make([]byte, n)
	if _, err := io.ReadFull(w.r, payload); err != nil {
		return 0, nil, 0, err
	}
	return typ, payload, 1 + len(binary.AppendUvarint(nil, n)) + int(n), nil
}

// until reads frames up to one of type typ and returns the bytes read.
func (w *wire) until(typ byte) int {
	w.t.Helper()
	total := 0
	for {
		got, _, n, err := w.read()
		if err != nil {
			w.t.Fatalf("reading up to %q: %v", typ, err)
		}
		total += n
		if got == typ {
			return total
		}
	}
}

// drain reads until the stream ends and returns the bytes read and
// whether the peer reset it.
func (w *wire) drain() (int, bool) {
	total := 0
	for {
		_, _, n, err := w.read()
		if err != nil {
			return total, errors.Is(err, network.ErrReset)
		}
		total += n
	}
}

// TestRequestsOutsideTheDifference is issue 9 item 3. An outsider that
// knows the gathering id reconciles from nothing, which makes the whole
// log its difference: that it gets (within the session's byte budget).
// Asking again for what it was sent, or, in a new session, for items the
// session never told it of, gets nothing (answer ÷ request = 0, the bar is
// 2) and disconnects it.
func TestRequestsOutsideTheDifference(t *testing.T) {
	a, creds := newGathering(t)
	g := creds.Derive().Gathering
	act(t, a, "held", 10)
	ma := member(t, a, mesh.Config{})

	h := bareHost(t)
	dialMesh(t, h, ma)
	w := newWire(t, openSession(t, h, ma, g))
	rc := recon.NewReconciler(recon.NewIndex(), recon.Options{})
	msg, err := rc.Initiate()
	if err != nil {
		t.Fatal(err)
	}
	w.send('R', msg)
	typ, payload, _, err := w.read()
	if err != nil || typ != 'R' {
		t.Fatalf("first answer %q, %v", typ, err)
	}
	_, _, need, _, err := rc.Reconcile(payload)
	if err != nil {
		t.Fatal(err)
	}
	if len(need) < 10 {
		t.Fatalf("the outsider learned of %d items, want at least 10", len(need))
	}
	req := mesh.EncodeRequest(need)
	w.send('Q', req)
	if got := w.until('A'); got < 10*100 {
		t.Fatalf("an answer within the difference of %d bytes", got)
	}

	// The same request again is outside: each item is answered once.
	sent := w.send('Q', req)
	got, reset := w.drain()
	if !reset {
		t.Error("the session was not reset")
	}
	if ratio := float64(got) / float64(sent); ratio > 0 {
		t.Errorf("answer ÷ request = %d ÷ %d = %.2f for a request outside the difference, want 0", got, sent, ratio)
	}
	t.Logf("request outside the difference: %d bytes asked, %d bytes answered", sent, got)
	waitFor(t, "the outsider to be disconnected", func() bool {
		return h.Network().Connectedness(ma.Host().ID()) != network.Connected
	})

	// Banned: it cannot come back under the same peer id.
	if err := h.Connect(testContext(t), peer.AddrInfo{ID: ma.Host().ID(), Addrs: ma.Host().Addrs()}); err == nil {
		waitFor(t, "the banned outsider to be dropped", func() bool {
			return h.Network().Connectedness(ma.Host().ID()) != network.Connected
		})
	}

	// A fresh outsider asks straight away for ids it learned elsewhere.
	h2 := bareHost(t)
	dialMesh(t, h2, ma)
	w2 := newWire(t, openSession(t, h2, ma, g))
	sent = w2.send('Q', req)
	if got, reset := w2.drain(); got != 0 || !reset {
		t.Errorf("a request before any reconciliation: %d bytes answered (asked %d), reset %v", got, sent, reset)
	}
	if st := ma.Stats(); st.Outside != int64(2*len(need)) {
		t.Errorf("Stats().Outside = %d, want %d", st.Outside, 2*len(need))
	}
}

// TestStalledSessionEnds is issue 9 item 5's slot holder: a peer that
// keeps a session busy with a fingerprint that never matches is dropped
// once the session has found nothing for stallTimeout on the mesh's clock.
func TestStalledSessionEnds(t *testing.T) {
	a, creds := newGathering(t)
	g := creds.Derive().Gathering
	act(t, a, "held", 3)
	clock := newFakeClock()
	ma := member(t, a, mesh.Config{Now: clock.Now})

	// Seventeen fake items: the outsider's first message is a fingerprint
	// of the whole set, which never matches.
	ix := recon.NewIndex()
	for i := range 17 {
		ix.Insert(recon.Item{Clock: crdt.Clock{Wall: int64(i + 1)}, ID: crdt.OpID{byte(i + 1)}})
	}
	msg, err := recon.NewReconciler(ix, recon.Options{}).Initiate()
	if err != nil {
		t.Fatal(err)
	}
	h := bareHost(t)
	dialMesh(t, h, ma)
	w := newWire(t, openSession(t, h, ma, g))
	for round := range 3 {
		w.send('R', msg)
		if typ, _, _, err := w.read(); err != nil || typ != 'R' {
			t.Fatalf("round %d: answer %q, %v", round, typ, err)
		}
		if st := ma.Stats(); st.Stalled != 0 {
			t.Fatalf("round %d: the session ended as stalled before its time", round)
		}
	}
	clock.advance(2*30*time.Second + time.Second)
	w.send('R', msg)
	if _, reset := w.drain(); !reset {
		t.Fatal("the stalled session was not reset")
	}
	if st := ma.Stats(); st.Stalled != 1 {
		t.Fatalf("Stats().Stalled = %d, want 1", st.Stalled)
	}
}

// TestFakeIDsBounded is issue 9 item 5: an outsider lists more ids than
// exist (70,000 made up) in a session. The session holds at most
// recon.DefaultMaxItems (65,536) of them, and asks for no more than that.
func TestFakeIDsBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("70,000 ids")
	}
	a, creds := newGathering(t)
	g := creds.Derive().Gathering
	ma := member(t, a, mesh.Config{})

	const fake = 70_000
	ix := recon.NewIndex()
	for i := range fake {
		var id crdt.OpID
		binary.BigEndian.PutUint64(id[:], uint64(i)+1)
		ix.Insert(recon.Item{Clock: crdt.Clock{Wall: int64(i + 1)}, ID: id})
	}
	rc := recon.NewReconciler(ix, recon.Options{})
	msg, err := rc.Initiate()
	if err != nil {
		t.Fatal(err)
	}
	h := bareHost(t)
	dialMesh(t, h, ma)
	w := newWire(t, openSession(t, h, ma, g))
	w.send('R', msg)
	for ma.Stats().Capped == 0 {
		typ, payload, _, err := w.read()
		if err != nil {
			t.Fatalf("the session ended before it reached its cap: %v", err)
		}
		switch typ {
		case 'R':
			reply, _, _, _, err := rc.Reconcile(payload)
			if err != nil {
				t.Fatal(err)
			}
			if reply != nil {
				w.send('R', reply)
			}
		case 'Q':
			w.send('A', nil) // none of them exists
		}
	}
	if st := ma.Stats(); st.OpsRequested > recon.DefaultMaxItems {
		t.Fatalf("asked for %d items, more than a session holds (%d)", st.OpsRequested, recon.DefaultMaxItems)
	}
}
