package crdt

// Groups: whether a group counts, its scribes and its seat, derived from
// the index when read (see refreshGroup).

func (g *group) has(id IdentityID) bool {
	_, ok := g.scribes[id]
	return ok
}

// refreshGroup settles whether a group counts (its operation counts and is
// within its creator's MaxGroupsPerIdentity), its scribe closure (the
// creator, and whoever a scribe named in a counting grant, transitively)
// and its seat (the last counting seat operation of a facilitator).
func (s *State) refreshGroup(g *group) {
	if !g.dirty && g.epoch == s.epoch {
		return
	}
	g.dirty, g.epoch = false, s.epoch
	g.ok, g.seat = false, false
	clear(g.scribes)
	if g.op == nil || !s.counts(g.op) || !s.withinGroupLimit(g) {
		return
	}
	g.ok = true
	var grants map[IdentityID][]IdentityID
	for _, o := range g.grants {
		if s.counts(o) {
			if grants == nil {
				grants = make(map[IdentityID][]IdentityID)
			}
			grants[o.Author()] = append(grants[o.Author()], o.Body.(*ScribeBody).Identity)
		}
	}
	g.scribes[g.op.Author()] = struct{}{}
	work := []IdentityID{g.op.Author()}
	for len(work) > 0 {
		x := work[len(work)-1]
		work = work[:len(work)-1]
		for _, y := range grants[x] {
			if !g.has(y) {
				g.scribes[y] = struct{}{}
				work = append(work, y)
			}
		}
	}
	var best *Op
	for _, o := range g.seats {
		if s.isFacil(o.Author()) && s.counts(o) && (best == nil || opLess(best, o)) {
			best = o
		}
	}
	g.seat = best != nil && best.Body.(*SeatBody).Seated
}

// withinGroupLimit: fewer than MaxGroupsPerIdentity counting groups of the
// same creator come before g.
func (s *State) withinGroupLimit(g *group) bool {
	n := 0
	for _, x := range s.authorGroups[g.op.Author()] {
		if x == g {
			return true
		}
		if s.counts(x.op) {
			if n++; n >= MaxGroupsPerIdentity {
				return false
			}
		}
	}
	return false
}

// validGroup returns the group if it counts.
func (s *State) validGroup(gid OpID) (*group, bool) {
	g := s.groups.get(gid)
	if g == nil {
		return nil, false
	}
	s.refreshGroup(g)
	return g, g.ok
}

// isScribe reports whether id acts for group: the group counts and id is in
// its scribe closure.
func (s *State) isScribe(gid OpID, id IdentityID) bool {
	g, ok := s.validGroup(gid)
	return ok && g.has(id)
}

// canAct reports whether a group may propose, edit and endorse, and have
// its endorsements counted: always in an open gathering, and in a seated
// one only when seated.
func (s *State) canAct(gid OpID) bool {
	if !s.seated {
		return true
	}
	g, ok := s.validGroup(gid)
	return ok && g.seat
}

// addAuthorGroup files a group under its creator. Whether a group counts
// depends on how many of its creator's groups come before it
// (MaxGroupsPerIdentity), so the groups after it, up to the first that
// was already over the limit, are marked stale.
func (s *State) addAuthorGroup(g *group) {
	a := g.op.Author()
	list := insertByOp(s.authorGroups[a], g, func(x *group) *Op { return x.op })
	s.authorGroups[a] = list
	n := 0
	for _, x := range list {
		if n > MaxGroupsPerIdentity {
			break
		}
		if opCompare(x.op, g.op) > 0 {
			s.dirtyGroup(x)
		}
		if s.counts(x.op) {
			n++
		}
	}
}
