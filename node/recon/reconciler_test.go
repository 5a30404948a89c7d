package recon

import (
	"errors"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
)

// pair builds two sets from a common part and a part of each side's own.
func pair(rnd *rand.Rand, common, onlyA, onlyB int) (a, b []Item) {
	all := randItems(rnd, common+onlyA+onlyB)
	a = append(a, all[:common+onlyA]...)
	b = append(b, all[:common]...)
	b = append(b, all[common+onlyA:]...)
	return a, b
}

// maxRoundTrips is the bound the protocol must keep: one to compare the
// whole set, one per level of splitting, one for the id lists, and one
// spare.
func maxRoundTrips(n, branch int) int {
	if n < 2 {
		return 3
	}
	return int(math.Ceil(math.Log(float64(n))/math.Log(float64(branch)))) + 2
}

func TestReconcile(t *testing.T) {
	cases := []struct {
		name                 string
		common, onlyA, onlyB int
		opt                  Options
		// bytesPerDiff bounds the bytes exchanged per differing item
		// (plus 1 KiB); 0: no bound.
		bytesPerDiff int
	}{
		{name: "both empty"},
		{name: "identical small", common: 10},
		{name: "identical", common: 5000},
		{name: "a empty", onlyB: 3000},
		{name: "b empty", onlyA: 3000},
		{name: "disjoint", onlyA: 2000, onlyB: 2000},
		{name: "one apart", common: 20000, onlyA: 1, bytesPerDiff: 2048},
		{name: "one apart other side", common: 20000, onlyB: 1, bytesPerDiff: 2048},
		{name: "few apart", common: 100_000, onlyA: 5, onlyB: 5, bytesPerDiff: 2048},
		{name: "1% apart", common: 100_000, onlyA: 500, onlyB: 500, bytesPerDiff: 1024},
		{name: "dense", common: 3000, onlyA: 700, onlyB: 20, bytesPerDiff: 256},
		{name: "branch 4", common: 20000, onlyA: 30, onlyB: 30, opt: Options{Branch: 4, IDListThreshold: 4}, bytesPerDiff: 2048},
		{name: "small frames", common: 20000, onlyA: 20000, onlyB: 3000, opt: Options{FrameLimit: 1}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if testing.Short() && tc.common+tc.onlyA+tc.onlyB > 30000 {
				t.Skip("large")
			}
			rnd := rand.New(rand.NewPCG(uint64(i), 42))
			a, b := pair(rnd, tc.common, tc.onlyA, tc.onlyB)
			s := runSession(t, indexOf(t, a), indexOf(t, b), tc.opt, tc.opt)
			aOnly, bOnly := minus(a, b), minus(b, a)
			sameItems(t, "initiator has", s.aHave, aOnly)
			sameItems(t, "initiator needs", s.aNeed, bOnly)
			sameItems(t, "responder has", s.bHave, bOnly)
			sameItems(t, "responder needs", s.bNeed, aOnly)

			diff := len(aOnly) + len(bOnly)
			branch := tc.opt.Branch
			if branch == 0 {
				branch = DefaultBranch
			}
			if diff == 0 && s.roundTrips != 1 {
				t.Errorf("in sync, yet %d messages", s.messages)
			}
			if lim := maxRoundTrips(max(len(a), len(b)), branch); tc.opt.FrameLimit == 0 && s.roundTrips > lim {
				t.Errorf("%d round trips, bound %d", s.roundTrips, lim)
			}
			if tc.bytesPerDiff > 0 && s.bytes > 1024+diff*tc.bytesPerDiff {
				t.Errorf("%d bytes for %d differences", s.bytes, diff)
			}
			t.Logf("%d items, %d differences: %d messages, %d bytes", len(a)+len(bOnly), diff, s.messages, s.bytes)
		})
	}
}

func TestInSyncIsOneRoundTrip(t *testing.T) {
	rnd := rand.New(rand.NewPCG(11, 12))
	items := randItems(rnd, 50_000)
	a, b := indexOf(t, items), NewIndex()
	if err := b.Load(sortedCopy(items)); err != nil {
		t.Fatal(err)
	}
	s := runSession(t, a, b, Options{}, Options{})
	if s.messages != 2 || s.bytes > 64 {
		t.Fatalf("%d messages, %d bytes", s.messages, s.bytes)
	}
	if len(s.aHave)+len(s.aNeed)+len(s.bHave)+len(s.bNeed) != 0 {
		t.Fatal("difference reported for equal sets")
	}
}

// TestReconcileWhileInserting inserts into both indexes between rounds, as
// a store does while a session runs, under the lock the reconcilers take.
func TestReconcileWhileInserting(t *testing.T) {
	rnd := rand.New(rand.NewPCG(13, 14))
	a, b := pair(rnd, 20000, 300, 300)
	extra := randItems(rand.New(rand.NewPCG(15, 16)), 400)
	ia, ib := indexOf(t, a), indexOf(t, b)
	var ma, mb sync.RWMutex
	ra := NewReconciler(ia, Options{Lock: ma.RLocker()})
	rb := NewReconciler(ib, Options{Lock: mb.RLocker()})
	haves := map[*Reconciler][]Item{}
	msg, err := ra.Initiate()
	if err != nil {
		t.Fatal(err)
	}
	to, from := rb, ra
	for n := 0; msg != nil; n++ {
		if n > 100 {
			t.Fatal("no end")
		}
		ma.Lock()
		mb.Lock()
		for range 10 {
			if len(extra) > 0 {
				ia.Insert(extra[0])
				ib.Insert(extra[0])
				extra = extra[1:]
			}
		}
		mb.Unlock()
		ma.Unlock()
		reply, have, _, _, err := to.Reconcile(msg)
		if err != nil {
			t.Fatal(err)
		}
		haves[to] = append(haves[to], have...)
		msg = reply
		to, from = from, to
	}
	// Pushing what each side found it has makes the sets equal.
	for _, it := range haves[ra] {
		ib.Insert(it)
	}
	for _, it := range haves[rb] {
		ia.Insert(it)
	}
	if ia.Digest() != ib.Digest() {
		t.Fatalf("not converged: %d and %d items", ia.Len(), ib.Len())
	}
}

func TestReconcileBadInput(t *testing.T) {
	rnd := rand.New(rand.NewPCG(17, 18))
	a, b := pair(rnd, 1000, 5, 5)
	ia, ib := indexOf(t, a), indexOf(t, b)
	ra, rb := NewReconciler(ia, Options{}), NewReconciler(ib, Options{})
	if _, _, _, _, err := rb.Reconcile([]byte{2}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("bad version: %v", err)
	}
	m1, _ := ra.Initiate()
	if _, err := ra.Initiate(); !errors.Is(err, ErrProtocol) {
		t.Fatalf("second Initiate: %v", err)
	}
	r1, _, _, _, err := rb.Reconcile(m1)
	if err != nil {
		t.Fatal(err)
	}
	// An id list diff answering a question that was never asked.
	e := newEncoder()
	var lo Bound
	hi := BoundAt(sortedCopy(a)[10])
	e.idListDiff(&lo, &hi, nil, []byte{1})
	if _, _, _, _, err := ra.Reconcile(e.buf); !errors.Is(err, ErrProtocol) {
		t.Fatalf("unasked answer: %v", err)
	}
	if st := ra.Stats(); st.MessagesReceived != 0 {
		t.Fatalf("a refused message was counted: %+v", st)
	}
	// The session goes on after refused messages.
	msg, to, from := r1, ra, rb
	for msg != nil {
		var err error
		msg, _, _, _, err = to.Reconcile(msg)
		if err != nil {
			t.Fatal(err)
		}
		to, from = from, to
	}
	if _, _, _, _, err := ra.Reconcile([]byte{Version}); !errors.Is(err, ErrProtocol) {
		t.Fatalf("message after done: %v", err)
	}
}

// TestMaxItems: a peer listing more ids than MaxItems (here real ones; an
// attacker's may not exist) makes the session hold at most MaxItems.
func TestMaxItems(t *testing.T) {
	rnd := rand.New(rand.NewPCG(5, 5))
	a, b := pair(rnd, 100, 3000, 0)
	ra, rb := NewReconciler(indexOf(t, a), Options{}), NewReconciler(indexOf(t, b), Options{MaxItems: 100})
	msg, err := ra.Initiate()
	if err != nil {
		t.Fatal(err)
	}
	need := 0
	for to, from := rb, ra; msg != nil; to, from = from, to {
		var got []Item
		msg, _, got, _, err = to.Reconcile(msg)
		if err != nil {
			t.Fatal(err)
		}
		if to == rb {
			need += len(got)
		}
	}
	if need != 100 || len(rb.reported) != 100 || !rb.Capped() {
		t.Fatalf("need %d, held %d, capped %v; want 100, 100, true", need, len(rb.reported), rb.Capped())
	}
	if ra.Capped() {
		t.Fatal("the side under its cap says it is capped")
	}
}

// TestTakeOutside: items never told, and items asked for twice, are
// outside the session.
func TestTakeOutside(t *testing.T) {
	rnd := rand.New(rand.NewPCG(6, 6))
	// Five items no two of which share a ref (randItems makes some that
	// do: TestTakeSharedRef is about those).
	var a []Item
	seen := make(map[Ref]bool)
	for _, it := range randItems(rnd, 50) {
		if len(a) < 5 && !seen[it.Ref()] {
			seen[it.Ref()] = true
			a = append(a, it)
		}
	}
	ra := NewReconciler(indexOf(t, a), Options{})
	if _, err := ra.Initiate(); err != nil { // five items: sent as an id list
		t.Fatal(err)
	}
	stranger := randItems(rnd, 3)
	tests := []struct {
		name        string
		items       []Item
		ok, outside int
	}{
		{"never told", stranger, 0, 3},
		{"told", a[:2], 2, 0},
		{"again", a[:2], 0, 2},
		{"mixed", append(append([]Item{}, a[2:]...), stranger[0]), 3, 1},
	}
	for _, tt := range tests {
		ok, outside := ra.Take(refsOf(tt.items))
		if len(ok) != tt.ok || outside != tt.outside {
			t.Fatalf("%s: %d ok, %d outside; want %d, %d", tt.name, len(ok), outside, tt.ok, tt.outside)
		}
	}
}

// TestTakeSharedRef: two items an author made to share a ref (clock and
// id prefix) are both answered when the peer names that ref, whichever
// one it learned of; the ref is then spent, and a ref that names only
// items the session never told is outside even though the index holds
// them.
func TestTakeSharedRef(t *testing.T) {
	rnd := rand.New(rand.NewPCG(8, 8))
	a, _ := pair(rnd, 0, 3, 0)
	twin := a[1]
	twin.ID[31] ^= 0xff // same clock, same first RefLen bytes
	if twin.Ref() != a[1].Ref() {
		t.Fatal("the twin does not share the ref")
	}
	lone := a[2]
	lone.Clock.Wall += 1_000_000 // far from the rest: told by no message below
	ix := indexOf(t, append(append([]Item{}, a...), twin, lone))
	ra := NewReconciler(ix, Options{})
	// Tell only a[1], not its twin or lone.
	ra.Tell(a[1:2])
	ok, outside := ra.Take([]Ref{a[1].Ref()})
	if outside != 0 || len(ok) != 2 {
		t.Fatalf("the shared ref: %d items, %d outside; want both twins", len(ok), outside)
	}
	for _, it := range ok {
		if it != a[1] && it != twin {
			t.Fatalf("answered %s, which does not have the ref", it)
		}
	}
	if ok, outside := ra.Take([]Ref{twin.Ref()}); len(ok) != 0 || outside != 1 {
		t.Errorf("the ref again: %d items, %d outside; want outside", len(ok), outside)
	}
	if ok, outside := ra.Take([]Ref{lone.Ref()}); len(ok) != 0 || outside != 1 {
		t.Errorf("a held item never told: %d items, %d outside; want outside", len(ok), outside)
	}
	// A ref whose id bytes fall between two held items names neither.
	near := a[0].Ref()
	near.Prefix[RefLen-1] ^= 1
	if ok, outside := ra.Take([]Ref{near}); len(ok) != 0 || outside != 1 {
		t.Errorf("a ref no item has: %d items, %d outside", len(ok), outside)
	}
}
