package node

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/internal/testkit"
)

// handSeal seals body as n's default identity at clock c, as a hand-built
// client would, bypassing the node's checks and clock.
func handSeal(t *testing.T, n *Node, c crdt.Clock, body crdt.Body) []byte {
	t.Helper()
	k, _ := n.identity(crdt.IdentityID{})
	env, _, err := n.Keys().Seal(k.signer, c, body)
	if err != nil {
		t.Fatal(err)
	}
	return env.Bytes()
}

func ingest(t *testing.T, n *Node, raws [][]byte) {
	t.Helper()
	if _, err := n.Ingest(context.Background(), raws); err != nil {
		t.Fatal(err)
	}
}

func TestRemove(t *testing.T) {
	ctx := context.Background()
	a, _ := initNode(t, false)
	b := joinNode(t, a.Credentials(), false)
	session, _, _ := workshop(t, a)
	ingest(t, b, raws(t, a))
	bg := act(t, b, &crdt.GroupBody{Name: "Table 2"}).ID
	kept := act(t, b, &crdt.ProposalBody{Session: session, Group: bg, Text: "kept"}).ID
	ingest(t, a, raws(t, b))
	bid := b.DefaultIdentity().ID

	for _, tc := range []struct {
		name string
		n    *Node
		who  crdt.IdentityID
		want error
	}{
		{"unknown identity", a, crdt.IdentityID{9}, crdt.ErrNotFound},
		{"the founder", a, a.DefaultIdentity().ID, crdt.ErrForbidden},
		{"by a member", b, a.DefaultIdentity().ID, crdt.ErrForbidden},
	} {
		before := tc.n.Status().Ops
		if _, err := tc.n.Remove(ctx, nil, tc.who, ""); !errors.Is(err, tc.want) {
			t.Errorf("%s: err %v, want %v", tc.name, err, tc.want)
		}
		if got := tc.n.Status().Ops; got != before {
			t.Errorf("%s: %d ops after a refused removal, %d before", tc.name, got, before)
		}
	}

	ops, err := a.Remove(ctx, nil, bid, "disrupts")
	if err != nil || len(ops) != 1 {
		t.Fatalf("Remove: %d ops, %v", len(ops), err)
	}
	// The removed laptop learns of it and refuses to act; a hand-built
	// client writes anyway, backdated just after the session.
	ingest(t, b, raws(t, a))
	if _, err := b.Act(ctx, crdt.IdentityID{}, &crdt.ProposalBody{Session: session, Group: bg, Text: "again"}); !errors.Is(err, crdt.ErrForbidden) {
		t.Fatalf("removed node acts: %v", err)
	}
	var sClock crdt.Clock
	for _, e := range raws(t, a) {
		if env, err := crdt.DecodeEnvelope(e); err == nil && env.ID() == session {
			sClock = env.Clock
		}
	}
	late := handSeal(t, b, crdt.Clock{Wall: sClock.Wall, Logical: sClock.Logical + 1}, &crdt.ProposalBody{Session: session, Group: bg, Text: "backdated"})
	ingest(t, a, [][]byte{late})
	var texts []string
	a.View(func(st *crdt.State) {
		d, _ := st.Document(session)
		for _, p := range d.Proposals {
			texts = append(texts, p.Text)
		}
		if !st.IsRemoved(bid) {
			t.Error("b is not removed")
		}
	})
	if len(texts) != 2 || texts[0] == "backdated" || texts[1] == "backdated" {
		t.Fatalf("document after removal: %q", texts)
	}
	found := false
	for _, x := range texts {
		found = found || x == "kept"
	}
	if !found {
		t.Fatalf("the kept proposal %s is gone: %q", kept, texts)
	}
}

func TestSetGathering(t *testing.T) {
	ctx := context.Background()
	a, _ := initNode(t, true)
	b := joinNode(t, a.Credentials(), true)
	ingest(t, b, raws(t, a))
	name, bogus, seated := "Renamed", "sideways", crdt.SeatingSeated
	for _, tc := range []struct {
		what          string
		n             *Node
		name, seating *string
		want          error
	}{
		{"nothing", a, nil, nil, crdt.ErrInvalid},
		{"bad seating with a name", a, &name, &bogus, crdt.ErrInvalid},
		{"by a member", b, &name, nil, crdt.ErrForbidden},
	} {
		before := tc.n.Status().Ops
		if _, err := tc.n.SetGathering(ctx, nil, tc.name, tc.seating); !errors.Is(err, tc.want) {
			t.Errorf("%s: err %v, want %v", tc.what, err, tc.want)
		}
		if got := tc.n.Status().Ops; got != before {
			t.Errorf("%s: %d ops, %d before", tc.what, got, before)
		}
	}
	g, err := a.SetGathering(ctx, nil, &name, &seated)
	if err != nil || g.Name != name || g.Seating != crdt.SeatingSeated {
		t.Fatalf("SetGathering: %+v, %v", g, err)
	}
	gid := act(t, a, &crdt.GroupBody{Name: "Table 1"}).ID
	if err := a.Seat(ctx, nil, gid, true); err != nil {
		t.Fatal(err)
	}
	a.View(func(st *crdt.State) {
		if gv, _ := st.Group(gid); !gv.Seated {
			t.Error("group not seated")
		}
	})
}

// fakeClock is a settable clock for a node.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func TestFlagsDisplaced(t *testing.T) {
	a, dir := initNode(t, false)
	b := joinNode(t, a.Credentials(), true)
	session := act(t, a, &crdt.SessionBody{Title: "Water", Cap: 1}).ID
	ingest(t, b, raws(t, a))
	bg := act(t, b, &crdt.GroupBody{Name: "Table 2"}).ID
	ingest(t, a, raws(t, b))
	ag := act(t, a, &crdt.GroupBody{Name: "Table 1"}).ID
	shown := act(t, a, &crdt.ProposalBody{Session: session, Group: ag, Text: "first here"})
	// b stamps its proposal just after its group, before a's.
	var c crdt.Clock
	for _, raw := range raws(t, b) {
		if e, _ := crdt.DecodeEnvelope(raw); e.ID() == bg {
			c = e.Clock
		}
	}
	c.Logical++
	if !c.Less(shown.Clock) {
		t.Skip("clocks too close to backdate between them")
	}
	raw := handSeal(t, b, c, &crdt.ProposalBody{Session: session, Group: bg, Text: "backdated"})
	ingest(t, a, [][]byte{raw})
	flags := a.Flags()
	if len(flags) != 1 || flags[0].Reason != FlagDisplaced || flags[0].Displaced != shown.ID.String() || flags[0].Session != session {
		t.Fatalf("flags: %+v", flags)
	}
	e, _ := crdt.DecodeEnvelope(raw)
	if at, ok := a.Arrival(e.ID()); !ok || at.IsZero() {
		t.Fatalf("no arrival recorded for %s", e.ID())
	}
	// A flag is saved without waiting for Close (a crash keeps it), off
	// the commit path: poll the file.
	testkit.Eventually(t, 10*time.Second, "flags.json holds the flag", func() (bool, string) {
		b, err := os.ReadFile(filepath.Join(dir, flagsFile))
		return err == nil && strings.Contains(string(b), e.ID().String()), fmt.Sprint(err)
	})
	// Flags outlive a restart.
	a.Close()
	a2 := openNode(t, dir, false)
	if got := a2.Flags(); len(got) != 1 || got[0].Op != e.ID() {
		t.Fatalf("flags after reopening: %+v", got)
	}
	// A damaged flags file keeps no node from starting.
	a2.Close()
	if err := os.WriteFile(filepath.Join(dir, flagsFile), []byte("{garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := openNode(t, dir, false).Flags(); len(got) != 0 {
		t.Fatalf("flags from a damaged file: %+v", got)
	}
}

func TestFlagsLate(t *testing.T) {
	ctx := context.Background()
	src, dir := initNode(t, true)
	b := joinNode(t, src.Credentials(), true)
	clock := &fakeClock{t: time.Now()}
	src.Close()
	a, err := Open(ctx, Config{Dir: dir, Memory: true, Now: clock.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	t0 := clock.now()
	at := func(d time.Duration) crdt.Clock { return crdt.Clock{Wall: t0.Add(d).UnixMilli()} }
	name := func(s string) crdt.Body { return &crdt.IdentityBody{Name: s} }

	for _, step := range []struct {
		now, clock time.Duration
		late       bool
	}{
		{0, 0, false}, // in touch
		{10 * time.Minute, 10 * time.Minute, false},                // in touch again
		{30 * time.Minute, 5 * time.Minute, true},                  // made at 5', in touch at 10', here at 30'
		{31 * time.Minute, 31*time.Minute - 15*time.Minute, false}, // 16' late, but no contact between 16' and 21'
	} {
		clock.set(t0.Add(step.now))
		before := len(a.Flags())
		ingest(t, a, [][]byte{handSeal(t, b, at(step.clock), name("b"+step.now.String()))})
		got := len(a.Flags()) - before
		if (got == 1) != step.late || got > 1 {
			t.Fatalf("at %v, clock %v: %d new flags, want late=%v: %+v", step.now, step.clock, got, step.late, a.Flags())
		}
	}
	f := a.Flags()[0]
	if f.Reason != FlagLate || f.Contact == nil || !f.Contact.Equal(t0.Add(10*time.Minute).Truncate(time.Minute).UTC()) {
		t.Fatalf("flag: %+v", f)
	}
}

func TestFlagsDisplacedSeat(t *testing.T) {
	a, _ := initNode(t, true)
	b := joinNode(t, a.Credentials(), true)
	ev := act(t, a, &crdt.EventBody{EventFields: crdt.EventFields{Title: "Lunch", Start: "2026-06-02T12:00:00Z", End: "2026-06-02T13:00:00Z", Timezone: "UTC", Status: crdt.Confirmed, Capacity: 1}})
	ingest(t, b, raws(t, a))
	time.Sleep(5 * time.Millisecond) // a clock between the event's and the registration's
	founder := a.DefaultIdentity().ID
	reg := act(t, a, &crdt.ParticipationBody{Event: ev.ID, Status: crdt.Going})
	c := crdt.Clock{Wall: ev.Clock.Wall + 1}
	if !c.Less(reg.Clock) {
		t.Skip("clocks too close to backdate between them")
	}
	ingest(t, a, [][]byte{handSeal(t, b, c, &crdt.ParticipationBody{Event: ev.ID, Status: crdt.Going})})
	flags := a.Flags()
	if len(flags) != 1 || flags[0].Reason != FlagDisplaced || flags[0].Event != ev.ID || flags[0].Displaced != founder.String() || flags[0].Author != b.DefaultIdentity().ID {
		t.Fatalf("flags: %+v", flags)
	}
	// A registration that takes no one's seat is not flagged.
	ingest(t, a, [][]byte{handSeal(t, b, crdt.Clock{Wall: c.Wall, Logical: 1}, &crdt.ParticipationBody{Event: ev.ID, Status: crdt.Maybe})})
	if n := len(a.Flags()); n != 1 {
		t.Fatalf("%d flags after a registration that took no seat", n)
	}
}

// TestFlagsSeatGivenUp: an identity that registers again goes to the back
// of its event's queue; whoever then gets its seat took it from no one,
// and a batch in clock order flags nothing.
func TestFlagsSeatGivenUp(t *testing.T) {
	a, _ := initNode(t, true)
	b := joinNode(t, a.Credentials(), true)
	c := joinNode(t, a.Credentials(), true)
	ev := act(t, a, &crdt.EventBody{EventFields: crdt.EventFields{Title: "Lunch", Start: "2026-06-02T12:00:00Z", End: "2026-06-02T13:00:00Z", Timezone: "UTC", Status: crdt.Confirmed, Capacity: 1}})
	ingest(t, c, raws(t, a))
	first := act(t, c, &crdt.ParticipationBody{Event: ev.ID, Status: crdt.Going})
	ingest(t, a, raws(t, b))
	ingest(t, a, raws(t, c))
	seatedOf := func() []crdt.IdentityID {
		var out []crdt.IdentityID
		a.View(func(st *crdt.State) {
			e, _ := st.Event(ev.ID)
			for _, pt := range e.Participants {
				if pt.Status == crdt.Going && !pt.Waitlisted {
					out = append(out, pt.Identity)
				}
			}
		})
		return out
	}
	if got := seatedOf(); len(got) != 1 || got[0] != c.DefaultIdentity().ID {
		t.Fatalf("seated before: %v", got)
	}
	// b registers after c did, then c again: c goes behind b, and b has
	// the seat.
	now := crdt.Clock{Wall: first.Clock.Wall + 1}
	later := crdt.Clock{Wall: now.Wall, Logical: 1}
	ingest(t, a, [][]byte{
		handSeal(t, b, now, &crdt.ParticipationBody{Event: ev.ID, Status: crdt.Going}),
		handSeal(t, c, later, &crdt.ParticipationBody{Event: ev.ID, Status: crdt.Going}),
	})
	if got := seatedOf(); len(got) != 1 || got[0] != b.DefaultIdentity().ID {
		t.Fatalf("seated after: %v", got)
	}
	if flags := a.Flags(); len(flags) != 0 {
		t.Fatalf("flags: %+v", flags)
	}
}

// BenchmarkFlagsJudge measures what noting arrivals and judging lateness
// adds to applying a batch of 256 operations from elsewhere (per batch).
func BenchmarkFlagsJudge(b *testing.B) {
	a, dir := initNode(b, false)
	_, _, proposal := workshop(b, a)
	_, envs := sealComments(b, a, proposal, 256)
	ops := make([]crdt.Op, len(envs))
	for i, e := range envs {
		op, err := a.Keys().Open(e)
		if err != nil {
			b.Fatal(err)
		}
		ops[i] = op
	}
	fresh := make([]bool, len(ops))
	for i := range fresh {
		fresh[i] = true
	}
	var f flagger
	if err := f.open(dir); err != nil {
		b.Fatal(err)
	}
	defer f.close()
	now := time.Now()
	b.ResetTimer()
	for range b.N {
		a.View(func(st *crdt.State) {
			p := f.watch(st, ops, false)
			f.judge(st, p, ops, fresh, false, now)
		})
	}
}

func TestContactBetween(t *testing.T) {
	var f flagger
	if err := f.open(""); err != nil {
		t.Fatal(err)
	}
	who := crdt.IdentityID{1}
	const m = minute
	for _, at := range []int64{0, m + 5, 2*m + 59_999, 2 * m, 10*m + 1} {
		f.contact(who, at)
	}
	if got := f.contacts[who]; !slices.Equal(got, []span{{0, 2 * m}, {10 * m, 10 * m}}) {
		t.Fatalf("spans: %v", got)
	}
	for _, tc := range []struct {
		from, to int64
		want     int64 // -1: none
	}{
		{m / 2, 5 * m, m},           // the minute of from does not count
		{5 * m / 2, 5 * m, -1},      // between the spans
		{5 * m / 2, 10 * m, 10 * m}, // the next span
		{10 * m, 20 * m, -1},        // after the last
		{-m, 0, 0},
	} {
		got, ok := f.contactBetween(who, tc.from, tc.to)
		if (tc.want < 0) == ok || (ok && got != tc.want) {
			t.Errorf("contactBetween(%d, %d) = %d, %v; want %d", tc.from, tc.to, got, ok, tc.want)
		}
	}
	if _, ok := f.contactBetween(crdt.IdentityID{2}, 0, 100*m); ok {
		t.Error("contact of an author never seen")
	}
}
