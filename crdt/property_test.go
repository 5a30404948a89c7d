package crdt

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// simSite is one laptop of the convergence test: its identities, its
// replica and its clock.
type simSite struct {
	signers []Signer
	state   *State
	hlc     HLC
	skew    int64
	known   map[OpID]bool
	ops     []Op
}

func (s *simSite) receive(op Op) {
	s.hlc.Observe(op.Clock)
	s.state.Apply(op)
	if !s.known[op.ID] {
		s.known[op.ID] = true
		s.ops = append(s.ops, op)
	}
}

type sim struct {
	t    *testing.T
	r    *rand.Rand
	keys Keys
	// epochKeys are the keys of epochs 0 to 3: sites seal under any of
	// them (a node that holds it, or a hand-built client).
	epochKeys []Keys
	sites     []*simSite
	people    []IdentityID
	now       int64
}

func pick[T any](r *rand.Rand, list []T) (T, bool) {
	var zero T
	if len(list) == 0 {
		return zero, false
	}
	return list[r.IntN(len(list))], true
}

// body makes a random body against what site sees; many are valid, some
// are not.
func (m *sim) body(site *simSite, me IdentityID) Body {
	r, st := m.r, site.state
	sessions, groups := st.Sessions(), st.Groups()
	var props []Proposal
	for _, ss := range sessions {
		d, _ := st.Document(ss.ID)
		props = append(props, d.Proposals...)
		for _, wt := range d.Waiting {
			p, _, _ := st.Proposal(wt.ID)
			props = append(props, p)
		}
	}
	var myGroups []OpID
	for _, g := range groups {
		if st.IsScribe(g.ID, me) || r.IntN(8) == 0 {
			myGroups = append(myGroups, g.ID)
		}
	}
	events := st.Events()
	person, _ := pick(r, m.people)
	text := fmt.Sprintf("t%d", r.IntN(1000))
	if r.IntN(8) == 0 {
		return m.arcBody(sessions, props, myGroups, text) // translate_test.go
	}
	switch r.IntN(27) {
	case 0:
		return &IdentityBody{Name: text}
	case 1:
		if r.IntN(3) == 0 {
			return &GatheringBody{Name: text}
		}
		return &FacilitatorBody{Identity: person}
	case 2:
		if len(sessions) < 3 {
			return &SessionBody{Title: text, Cap: 2 + r.IntN(4)}
		}
		fallthrough
	case 3:
		ss, ok := pick(r, sessions)
		if !ok {
			return nil
		}
		u := &SessionUpdateBody{Session: ss.ID}
		switch r.IntN(4) {
		case 0:
			u.Title = &text
		case 1:
			u.Prompt = &text
		case 2:
			u.Cap = ptr(1 + r.IntN(6))
		case 3:
			u.Open = ptr(r.IntN(4) != 0)
		}
		return u
	case 4:
		if len(groups) < 6 {
			return &GroupBody{Name: text}
		}
		fallthrough
	case 5:
		g, ok := pick(r, myGroups)
		if !ok {
			return nil
		}
		return &ScribeBody{Group: g, Identity: person}
	case 6, 7:
		ss, ok1 := pick(r, sessions)
		g, ok2 := pick(r, myGroups)
		if !ok1 || !ok2 {
			return nil
		}
		return &ProposalBody{Session: ss.ID, Group: g, Text: text}
	case 8, 9, 10:
		p, ok1 := pick(r, props)
		g, ok2 := pick(r, myGroups)
		if !ok1 || !ok2 {
			return nil
		}
		parents := p.Heads
		if r.IntN(4) == 0 {
			revs, _ := st.Revisions(p.ID)
			rv, _ := pick(r, revs)
			parents = []OpID{rv.ID}
		} else {
			parents = append([]OpID(nil), parents...)
			sortIDs(parents)
		}
		return &RevisionBody{Proposal: p.ID, Group: g, Text: text, Parents: parents}
	case 11, 12, 13:
		p, ok1 := pick(r, props)
		g, ok2 := pick(r, myGroups)
		if !ok1 || !ok2 {
			return nil
		}
		rev := p.Revision
		if r.IntN(4) == 0 {
			revs, _ := st.Revisions(p.ID)
			rv, _ := pick(r, revs)
			rev = rv.ID
		}
		return &EndorseBody{Proposal: p.ID, Group: g, Revision: rev, Endorse: r.IntN(4) != 0}
	case 14:
		p, ok := pick(r, props)
		if !ok {
			return nil
		}
		return &CommentBody{Proposal: p.ID, Text: text}
	case 15:
		p, ok := pick(r, props)
		if !ok {
			return nil
		}
		target := p.ID
		if cs, _ := st.Comments(p.ID); len(cs) > 0 && r.IntN(2) == 0 {
			target = cs[r.IntN(len(cs))].ID
		} else if r.IntN(2) == 0 {
			target = p.Revision
		}
		return &HideBody{Target: target, Hidden: r.IntN(3) != 0}
	case 16:
		if len(events) < 4 {
			f := EventFields{Title: text, Start: "2026-05-01T10:00:00Z", End: "2026-05-01T12:00:00Z",
				Timezone: "UTC", Status: Tentative, Capacity: r.IntN(4)}
			if g, ok := pick(r, myGroups); ok && r.IntN(2) == 0 {
				f.Group = &g
			}
			return &EventBody{f}
		}
		fallthrough
	case 17:
		e, ok := pick(r, events)
		if !ok {
			return nil
		}
		var set EventPatch
		switch r.IntN(5) {
		case 0:
			set.Title = &text
		case 1:
			set.Capacity = ptr(r.IntN(4))
		case 2:
			set.Tags = &[]string{text}
		case 3:
			set.Start = ptr(fmt.Sprintf("2026-05-0%dT10:00:00Z", 1+r.IntN(3)))
		case 4:
			set.Status = ptr(Confirmed)
		}
		return &EventUpdateBody{Event: e.ID, Set: set}
	case 18, 19:
		e, ok := pick(r, events)
		if !ok {
			return nil
		}
		return &ParticipationBody{Event: e.ID, Status: []string{Going, Going, Maybe, NotGoing}[r.IntN(4)]}
	default:
		return m.governBody(site, groups, events, props)
	}
}

// governBody makes a random operation of governance: a removal (keeping
// all or part of what the site holds), the seating, a seat, a hide of any
// content, or one more group or comment than the limits allow.
func (m *sim) governBody(site *simSite, groups []Group, events []Event, props []Proposal) Body {
	r, st := m.r, site.state
	person, _ := pick(r, m.people)
	if r.IntN(12) == 0 {
		return m.rotationBody()
	}
	switch r.IntN(9) {
	case 7:
		return m.ratifyBody(site)
	case 8:
		return m.importBody(site, groups)
	case 0:
		if r.IntN(4) != 0 {
			return nil // removals are rare, or everyone is soon removed
		}
		b := st.RemovalBodies(person, "r")[0]
		if r.IntN(3) == 0 {
			// A facilitator's node that held only part of the history.
			b.Keep = slices.DeleteFunc(slices.Clone(b.Keep), func(uint64) bool { return r.IntN(2) == 0 })
		}
		return b
	case 1:
		return &SeatingBody{Seating: []string{SeatingOpen, SeatingSeated}[r.IntN(2)]}
	case 2, 3:
		g, ok := pick(r, groups)
		if !ok {
			return nil
		}
		return &SeatBody{Group: g.ID, Seated: r.IntN(4) != 0}
	case 4:
		targets := []OpID{OpID(person)}
		for _, g := range groups {
			targets = append(targets, g.ID)
		}
		for _, e := range events {
			targets = append(targets, e.ID)
		}
		t, _ := pick(r, targets)
		return &HideBody{Target: t, Hidden: r.IntN(3) != 0}
	case 5:
		return &GroupBody{Name: "more"}
	default:
		p, ok := pick(r, props)
		if !ok {
			return nil
		}
		return &CommentBody{Proposal: p.ID, Text: "again"}
	}
}

func sortIDs(ids []OpID) {
	for i := 1; i < len(ids); i++ {
		for j := i; j > 0 && ids[j].compare(ids[j-1]) < 0; j-- {
			ids[j], ids[j-1] = ids[j-1], ids[j]
		}
	}
}

// act has a site make one operation: usually only what Check admits,
// sometimes anything (a buggy or hostile peer).
func (m *sim) act(site *simSite) {
	sg := site.signers[m.r.IntN(len(site.signers))]
	body := m.body(site, sg.ID)
	if body == nil {
		return
	}
	if err := site.state.Check(sg.ID, body); err != nil && m.r.IntN(5) != 0 {
		return
	}
	c := site.hlc.Now(m.now + site.skew)
	if m.r.IntN(30) == 0 {
		// A hand-built client backdates, without moving its clock.
		c = Clock{Wall: m.r.Int64N(m.now + 1)}
	}
	keys := m.keys
	if rb, ok := body.(*RotationBody); ok && m.r.IntN(4) != 0 {
		keys = m.epochKeys[rb.Epoch-1] // as an honest node seals it
	} else if m.r.IntN(3) == 0 {
		keys = m.epochKeys[m.r.IntN(len(m.epochKeys))]
	}
	_, op, err := keys.Seal(sg, c, body)
	if err != nil {
		return // the random body broke a size or shape rule
	}
	site.receive(op)
}

// sync gives b every operation a holds, shuffled, some twice.
func (m *sim) sync(a, b *simSite) {
	var missing []Op
	for _, op := range a.ops {
		if !b.known[op.ID] {
			missing = append(missing, op)
		}
	}
	if len(missing) == 0 {
		return
	}
	for _, op := range shuffled(m.r, missing) {
		b.receive(op)
	}
}

// runSim runs the random simulation of one seed: five sites, partitions
// that come and go, then a heal after which every site holds every
// operation.
func runSim(t *testing.T, seed uint64, steps int) *sim {
	r := rand.New(rand.NewPCG(seed, 0xc0ffee))
	founder := testSigner("founder")
	m := &sim{t: t, r: r, keys: testKeys(founder.ID), now: 1_700_000_000_000}
	m.epochKeys = simEpochKeys(m.keys)
	for i := range 5 {
		site := &simSite{known: make(map[OpID]bool), state: NewState(founder.ID), skew: r.Int64N(4000) - 2000}
		if i == 0 {
			site.signers = append(site.signers, founder)
		}
		for j := range 1 + r.IntN(2) {
			site.signers = append(site.signers, testSigner(fmt.Sprintf("site%d-%d", i, j)))
		}
		for _, sg := range site.signers {
			m.people = append(m.people, sg.ID)
		}
		m.sites = append(m.sites, site)
	}
	// Everyone starts connected, then partitions come and go.
	part := make([]int, len(m.sites))
	for step := range steps {
		m.now += r.Int64N(40)
		switch x := r.IntN(100); {
		case x < 2:
			for i := range part {
				part[i] = r.IntN(3)
			}
		case x < 12:
			a, b := m.sites[r.IntN(len(m.sites))], r.IntN(len(m.sites))
			if part[b] == part[slicesIndex(m.sites, a)] || step < 100 {
				m.sync(a, m.sites[b])
			}
		default:
			m.act(m.sites[r.IntN(len(m.sites))])
		}
	}
	// Heal: everyone gets everything.
	for _, a := range m.sites {
		for _, b := range m.sites {
			m.sync(a, b)
		}
	}
	return m
}

// simEpochKeys are the keys of epochs 0 to 3 of the simulation.
func simEpochKeys(first Keys) []Keys {
	out := []Keys{first}
	for e := uint64(1); e <= 3; e++ {
		out = append(out, DeriveEpoch(first.Gathering, first.Founder, e, [32]byte{byte(e)}))
	}
	return out
}

func TestConvergence(t *testing.T) {
	for seed := range uint64(6) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			m := runSim(t, seed, 3000)
			r, founder := m.r, testSigner("founder")
			union := m.sites[0].ops
			fresh := applyOps(founder.ID, shuffled(r, union))
			want := dump(t, fresh)
			for i, site := range m.sites {
				if site.state.Len() != len(union) {
					t.Fatalf("site %d holds %d operations, want %d", i, site.state.Len(), len(union))
				}
				requireSameDump(t, fmt.Sprintf("site %d", i), want, dump(t, site.state))
			}
			// The run must have exercised the interesting cases.
			var conflicts, waiting, hidden, proposals int
			for _, ss := range fresh.Sessions() {
				d, _ := fresh.Document(ss.ID)
				waiting += len(d.Waiting)
				for _, p := range d.Proposals {
					proposals++
					if p.Conflict {
						conflicts++
					}
					if p.Hidden {
						hidden++
					}
				}
			}
			var removed, seated int
			for _, mb := range fresh.Members() {
				if mb.Removed {
					removed++
				}
			}
			for _, g := range fresh.Groups() {
				if g.Seated {
					seated++
				}
			}
			shut := 0
			for _, o := range union {
				if !fresh.counts(fresh.ops.get(o.ID)) && !fresh.isRemoved(o.Author()) {
					shut++
				}
			}
			t.Logf("%d operations, %d proposals, %d in conflict, %d waiting, %d hidden, %d events, %d removed of %d, %d groups seated, seating %s, %d epochs closed, %d operations in an epoch closed to their author",
				len(union), proposals, conflicts, waiting, hidden, len(fresh.Events()), removed, len(m.people), seated, fresh.Gathering().Seating, len(fresh.closed), shut)
			if proposals == 0 || len(fresh.Events()) == 0 {
				t.Errorf("the simulation made too little to compare")
			}
		})
	}
}

func slicesIndex(sites []*simSite, s *simSite) int {
	for i, x := range sites {
		if x == s {
			return i
		}
	}
	return -1
}

func TestSnapshot(t *testing.T) {
	w := sampleOps(t)
	ops := append(slices.Clone(w.ops), syntheticOps(3000, 3)...)
	s := applyOps(w.founder.ID, ops)
	want := dump(t, s)
	snap := s.Snapshot()
	got, err := LoadSnapshot(w.founder.ID, snap)
	if err != nil {
		t.Fatal(err)
	}
	if got.Len() != s.Len() {
		t.Fatalf("Len %d, want %d", got.Len(), s.Len())
	}
	requireSameDump(t, "loaded snapshot", want, dump(t, got))
	if !bytes.Equal(got.Snapshot(), snap) {
		t.Error("snapshot of a loaded snapshot differs")
	}
	for _, c := range []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"truncated", snap[:len(snap)-5]},
		{"trailing", append(slices.Clone(snap), 0)},
		{"bad body", bytes.Replace(slices.Clone(snap), []byte("\x05Bench"), []byte("\x05Be\xffch"), 1)},
	} {
		if _, err := LoadSnapshot(w.founder.ID, c.b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v, want malformed", c.name, err)
		}
	}
}

// TestRemovedCountNowhere: once the founder removes an identity, keeping
// what its node held, any further operation of that identity, with any
// clock (backdated before the removal, before its own history, or later),
// changes nothing anywhere.
func TestRemovedCountNowhere(t *testing.T) {
	for seed := range uint64(4) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			m := runSim(t, 100+seed, 1500)
			r, founder := m.r, testSigner("founder")
			union := slices.Clone(m.sites[0].ops)
			held := applyOps(founder.ID, union)
			// The target: a person on another site, not removed yet.
			var site *simSite
			var target Signer
			for _, st := range m.sites[1:] {
				for _, sg := range st.signers {
					if site == nil && !held.IsRemoved(sg.ID) && held.MayWrite(sg.ID, 0) {
						site, target = st, sg
					}
				}
			}
			if site == nil {
				t.Skip("everyone is removed already")
			}
			base := slices.Clone(union)
			for i, b := range held.RemovalBodies(target.ID, "property") {
				_, op, err := m.keys.Seal(founder, Clock{Wall: m.now + 1000, Logical: uint32(i)}, b)
				if err != nil {
					t.Fatal(err)
				}
				base = append(base, op)
			}
			// The removed laptop keeps writing with a hand-built client.
			var extra []Op
			for len(extra) < 300 {
				body := m.body(site, target.ID)
				if body == nil {
					continue
				}
				c := Clock{Wall: r.Int64N(m.now + 3000), Logical: r.Uint32N(4)}
				_, op, err := m.keys.Seal(target, c, body)
				if err != nil {
					continue
				}
				extra = append(extra, op)
				if r.IntN(4) == 0 {
					site.receive(op) // later operations build on earlier ones
				}
			}
			want := dump(t, applyOps(founder.ID, base))
			got := applyOps(founder.ID, shuffled(r, append(slices.Clone(base), extra...)))
			requireSameDump(t, "after the removed identity's operations", want, dump(t, got))
			if !got.IsRemoved(target.ID) {
				t.Fatal("the target is not removed")
			}
			// Without the removal the same operations would count: the
			// comparison above could fail.
			if bytes.Equal(dump(t, applyOps(founder.ID, union)), dump(t, applyOps(founder.ID, append(slices.Clone(union), extra...)))) {
				t.Error("the removed identity's operations would change nothing even without the removal")
			}
		})
	}
}
