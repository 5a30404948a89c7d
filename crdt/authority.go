package crdt

// Authority: who is a facilitator, who is removed and what of a removed
// identity still counts, and the gathering's seating. These depend on each
// other (a removed facilitator's later appointments do not count; only
// facilitators remove), and change rarely, so they are recomputed together,
// from the whole set, when one of their operations arrives and something is
// next read (settle). Every cache records the epoch it was computed at, and
// the epoch grows whenever the outcome changes.
//
// The rules (docs/DECISIONS.md, "Removal"):
//   - An operation counts unless its author is removed and no counting
//     removal of the author keeps it.
//   - Facilitators are the closure, from the founder, of the counting
//     appointments.
//   - A removal is a candidate if its author is a facilitator and it does
//     not name the founder. A candidate counts unless its author is the
//     target of counting candidates none of which keeps it. Where candidates
//     depend on each other in a cycle (two facilitators who removed each
//     other while apart), the candidates of the cycle count, unless a
//     counting candidate outside the cycle removed their author without
//     keeping them.
//   - A removal that costs its own author the authority it rests on (it
//     removes whoever appointed its author, without keeping that
//     appointment) is settled by taking that authority away: facilitators
//     are only ever taken out of the closure while settling, never put back,
//     so the computation ends.

type keepSet map[uint64]struct{}

// settle recomputes authority if one of its operations arrived.
func (s *State) settle() {
	if !s.authDirty {
		return
	}
	s.authDirty = false
	facil, removed := s.authority()
	seated := s.seatingIn(facil, removed)
	closed := s.closedEpochs(facil, removed)
	if sameKeys(facil, s.facil) && sameRemoved(removed, s.removed) && seated == s.seated && sameClosed(closed, s.closed) {
		return
	}
	s.facil, s.removed, s.seated, s.closed = facil, removed, seated, closed
	s.epoch++
	s.identsList.dirty = true
	s.groupList.dirty = true
	s.sessList.dirty = true
	s.eventList.dirty = true
	s.name.dirty = true
}

func (s *State) authority() (map[IdentityID]struct{}, map[IdentityID]keepSet) {
	facil := s.facilClosure(nil)
	for {
		removed := s.removals(facil)
		next := s.facilClosure(removed)
		shrunk := false
		for id := range facil {
			if _, ok := next[id]; !ok {
				delete(facil, id)
				shrunk = true
			}
		}
		if !shrunk {
			return facil, removed
		}
	}
}

func countsIn(removed map[IdentityID]keepSet, o *Op) bool {
	k, ok := removed[o.Author()]
	if !ok {
		return true
	}
	_, kept := k[KeepPrefix(o.ID)]
	return kept
}

// counts reports whether an operation takes part in the rules at all: a
// removed identity's only if a removal keeps it, anyone else's only if its
// epoch is open to its author (epochs.go).
func (s *State) counts(o *Op) bool {
	if len(s.removed) != 0 {
		if _, ok := s.removed[o.Author()]; ok {
			return countsIn(s.removed, o)
		}
	}
	return len(s.closed) == 0 || s.openTo(o.Author(), o.Epoch())
}

func (s *State) isRemoved(id IdentityID) bool {
	_, ok := s.removed[id]
	return ok
}

// facilClosure is the founder and everyone appointed, transitively, by
// counting appointments of facilitators.
func (s *State) facilClosure(removed map[IdentityID]keepSet) map[IdentityID]struct{} {
	grants := make(map[IdentityID][]IdentityID)
	for _, o := range s.facilOps {
		if countsIn(removed, o) {
			grants[o.Author()] = append(grants[o.Author()], o.Body.(*FacilitatorBody).Identity)
		}
	}
	facil := map[IdentityID]struct{}{s.founder: {}}
	work := []IdentityID{s.founder}
	for len(work) > 0 {
		x := work[len(work)-1]
		work = work[:len(work)-1]
		for _, y := range grants[x] {
			if _, ok := facil[y]; !ok {
				facil[y] = struct{}{}
				work = append(work, y)
			}
		}
	}
	return facil
}

// candidate is one removal taking part in the computation.
type candidate struct {
	op    *Op
	b     *RemovalBody
	deps  []int // candidates that remove this one's author
	state int8  // 0 undecided, 1 counts, 2 does not
}

// removals decides which candidate removals count, and returns each removed
// identity with the union of what its counting removals keep.
func (s *State) removals(facil map[IdentityID]struct{}) map[IdentityID]keepSet {
	var cs []candidate
	byTarget := make(map[IdentityID][]int)
	for _, o := range s.removalOps {
		b := o.Body.(*RemovalBody)
		if _, ok := facil[o.Author()]; !ok || b.Identity == s.founder {
			continue
		}
		byTarget[b.Identity] = append(byTarget[b.Identity], len(cs))
		cs = append(cs, candidate{op: o, b: b})
	}
	if len(cs) == 0 {
		return nil
	}
	for i := range cs {
		cs[i].deps = byTarget[cs[i].op.Author()]
	}
	for {
		progress := false
		for i := range cs {
			if cs[i].state == 0 {
				if st := decide(cs, i, nil); st != 0 {
					cs[i].state, progress = st, true
				}
			}
		}
		if progress {
			continue
		}
		sinks := sinkCycles(cs)
		if len(sinks) == 0 {
			break
		}
		// Decide every member of the sink cycles at once, each ignoring
		// the other members of its own cycle.
		var decided []int8
		for _, cyc := range sinks {
			in := make(map[int]bool, len(cyc))
			for _, i := range cyc {
				in[i] = true
			}
			for _, i := range cyc {
				st := decide(cs, i, in)
				if st == 0 {
					st = 1 // cannot happen: every outside dependency is decided
				}
				decided = append(decided, st)
			}
		}
		k := 0
		for _, cyc := range sinks {
			for _, i := range cyc {
				cs[i].state = decided[k]
				k++
			}
		}
	}
	removed := make(map[IdentityID]keepSet)
	for _, c := range cs {
		if c.state != 1 {
			continue
		}
		k := removed[c.b.Identity]
		if k == nil {
			k = make(keepSet, len(c.b.Keep))
			removed[c.b.Identity] = k
		}
		for _, p := range c.b.Keep {
			k[p] = struct{}{}
		}
	}
	return removed
}

// decide settles candidate i if its dependencies allow: 1 if it counts
// (its author is not removed, or a counting removal of its author keeps
// it), 2 if not, 0 if that still depends on undecided candidates.
// Candidates in skip are ignored.
func decide(cs []candidate, i int, skip map[int]bool) int8 {
	removed, pending := false, false
	for _, j := range cs[i].deps {
		if skip[j] {
			continue
		}
		switch cs[j].state {
		case 1:
			if cs[j].b.keeps(cs[i].op.ID) {
				return 1
			}
			removed = true
		case 0:
			pending = true
		}
	}
	switch {
	case pending:
		return 0
	case removed:
		return 2
	}
	return 1
}

// sinkCycles returns the strongly connected components of the undecided
// candidates (an edge from a candidate to each undecided one it depends
// on) that depend on no undecided candidate outside themselves.
func sinkCycles(cs []candidate) [][]int {
	index := make([]int, len(cs))
	low := make([]int, len(cs))
	onStack := make([]bool, len(cs))
	comp := make([]int, len(cs))
	for i := range comp {
		comp[i] = -1
	}
	var stack []int
	var comps [][]int
	next := 1
	var visit func(v int)
	visit = func(v int) {
		index[v], low[v] = next, next
		next++
		stack = append(stack, v)
		onStack[v] = true
		for _, w := range cs[v].deps {
			if cs[w].state != 0 {
				continue
			}
			if index[w] == 0 {
				visit(w)
				low[v] = min(low[v], low[w])
			} else if onStack[w] {
				low[v] = min(low[v], index[w])
			}
		}
		if low[v] == index[v] {
			var c []int
			for {
				w := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				onStack[w] = false
				comp[w] = len(comps)
				c = append(c, w)
				if w == v {
					break
				}
			}
			comps = append(comps, c)
		}
	}
	for i := range cs {
		if cs[i].state == 0 && index[i] == 0 {
			visit(i)
		}
	}
	var sinks [][]int
	for ci, c := range comps {
		sink := true
		for _, v := range c {
			for _, w := range cs[v].deps {
				if cs[w].state == 0 && comp[w] != ci {
					sink = false
				}
			}
		}
		if sink {
			sinks = append(sinks, c)
		}
	}
	return sinks
}

// seatingIn is the gathering's seating: the last counting seating
// operation of a facilitator.
func (s *State) seatingIn(facil map[IdentityID]struct{}, removed map[IdentityID]keepSet) bool {
	var best *Op
	for _, o := range s.seatingOps {
		if _, ok := facil[o.Author()]; ok && countsIn(removed, o) && (best == nil || opLess(best, o)) {
			best = o
		}
	}
	return best != nil && best.Body.(*SeatingBody).Seating == SeatingSeated
}

func sameKeys[K comparable, V any](a, b map[K]V) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if _, ok := b[k]; !ok {
			return false
		}
	}
	return true
}

func sameRemoved(a, b map[IdentityID]keepSet) bool {
	if len(a) != len(b) {
		return false
	}
	for id, ka := range a {
		kb, ok := b[id]
		if !ok || !sameKeys(ka, kb) {
			return false
		}
	}
	return true
}
