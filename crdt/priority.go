package crdt

import "slices"

// What a new laptop needs first. A laptop joining a gathering with a long
// history wants the documents people are working on now, not the whole log
// in clock order: the operations of the sessions with the latest activity
// and the membership and authority they are read against (the gathering,
// names, facilitators, removals, seating, rotations, groups and their
// scribes and seats). Priority lists them so that the mesh can move them
// first; the rest follows, so the result is the same set either way.

// OpRef names an operation with its clock: what reconciliation orders by.
type OpRef struct {
	ID    OpID
	Clock Clock
}

// ActiveSessions returns the ids of the n sessions (at most) with the
// latest activity, latest first: the latest clock among the session's own
// operation, its updates, agenda and phases, ratifications, and its
// proposals with their revisions, endorsements, comments and translations.
func (s *State) ActiveSessions(n int) []OpID {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sessionIDs(s.activeSessions(n))
}

func sessionIDs(ss []*session) []OpID {
	ids := make([]OpID, len(ss))
	for i, x := range ss {
		ids[i] = x.id
	}
	return ids
}

// activeSessions is ActiveSessions under s.mu. Only sessions whose own
// operation is held count: a document needs it.
func (s *State) activeSessions(n int) []*session {
	type ranked struct {
		ss   *session
		last *Op
	}
	var rs []ranked
	for _, ss := range s.sessOrder {
		last := ss.op
		later := func(list []*Op) {
			if k := len(list); k > 0 && opLess(last, list[k-1]) {
				last = list[k-1]
			}
		}
		later(ss.updates)
		later(ss.agenda)
		later(ss.ratifs)
		for _, p := range ss.props {
			if p.op != nil && opLess(last, p.op) {
				last = p.op
			}
			later(p.revs)
			later(p.comments)
			later(p.trans)
			for _, e := range p.endorse { // as they arrived, not sorted
				if opLess(last, e) {
					last = e
				}
			}
		}
		rs = append(rs, ranked{ss, last})
	}
	slices.SortFunc(rs, func(a, b ranked) int { return opCompare(b.last, a.last) })
	out := make([]*session, 0, min(n, len(rs)))
	for _, r := range rs[:min(n, len(rs))] {
		out = append(out, r.ss)
	}
	return out
}

// Priority lists, sorted by (clock, id), the operations a new laptop needs
// to show the documents of the n sessions with the latest activity: those
// sessions' operations, the hides of any of them, and every operation of
// membership and authority. It stops at limit operations (authority first),
// so that what it costs stays bounded whatever the log holds.
func (s *State) Priority(n, limit int) []OpRef {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []OpRef
	seen := make(map[OpID]struct{})
	add := func(list ...*Op) bool {
		for _, o := range list {
			if o == nil {
				continue
			}
			if len(out) >= limit {
				return false
			}
			if _, ok := seen[o.ID]; ok {
				continue
			}
			seen[o.ID] = struct{}{}
			out = append(out, OpRef{ID: o.ID, Clock: o.Clock})
			for _, h := range s.hides[o.ID] {
				if _, ok := seen[h.ID]; !ok && len(out) < limit {
					seen[h.ID] = struct{}{}
					out = append(out, OpRef{ID: h.ID, Clock: h.Clock})
				}
			}
		}
		return true
	}
	ok := add(s.gatheringOps...) && add(s.facilOps...) && add(s.removalOps...) &&
		add(s.seatingOps...) && add(s.rotationOps...)
	for _, ops := range s.idents {
		ok = ok && add(ops...)
	}
	for _, g := range s.groupOrder {
		ok = ok && add(g.op) && add(g.grants...) && add(g.seats...)
	}
	for _, ss := range s.activeSessions(n) {
		ok = ok && add(ss.op) && add(ss.updates...) && add(ss.agenda...) && add(ss.ratifs...)
		for _, p := range ss.props {
			ok = ok && add(p.op) && add(p.revs...) && add(p.endorse...) && add(p.comments...) && add(p.trans...)
		}
	}
	slices.SortFunc(out, func(a, b OpRef) int {
		if c := a.Clock.Compare(b.Clock); c != 0 {
			return c
		}
		return a.ID.compare(b.ID)
	})
	return out
}
