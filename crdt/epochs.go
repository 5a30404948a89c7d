package crdt

// Epochs in the rules (issue 10): what an old invite can still write.
//
// Whoever holds an epoch's keys can seal operations under it, forever and
// with any clock. A rotation to epoch n is where the room says who the
// members of epoch n-1 were: the identities it was sealed to. So:
//
//   - A rotation closes epoch n-1 when it counts: its author is a
//     facilitator, it is not a removed identity's (unkept) operation, and it
//     was sealed under epoch n-1 (an honest node seals it under the epoch it
//     leaves). Its recipients are the shares' identities; the recipients of
//     a closed epoch are the union over every counting rotation to n (the
//     parts of one large rotation, and concurrent rotations of facilitators
//     apart, each of which sealed the new key to everyone its node knew).
//   - An operation of a closed epoch counts only if its author is one of
//     those recipients, or a facilitator. Every other operation of that
//     epoch — a laptop that joined with the old invite after the rotation,
//     or before it but unseen by the rotating node — counts nowhere,
//     whatever its clock: the recipients are fixed by the rotation, not by
//     time, so backdating changes nothing.
//   - A recipient's operations of the closed epoch still count, whenever
//     they arrive: a member offline during the rotation carries on.
//   - A removed identity is judged by its removals alone (what they keep
//     counts, even if a later rotation left it out, as it always does).
//
// Facilitators are exempt so that authority never depends on this rule:
// it is settled first (authority.go), from appointments and removals only,
// and the closed epochs after it, so there is no cycle.

// closedEpochs computes, for each epoch closed by a counting rotation, the
// identities it stays open to.
func (s *State) closedEpochs(facil map[IdentityID]struct{}, removed map[IdentityID]keepSet) map[uint64]map[IdentityID]struct{} {
	var closed map[uint64]map[IdentityID]struct{}
	for _, o := range s.rotationOps {
		b := o.Body.(*RotationBody)
		if _, ok := facil[o.Author()]; !ok || !countsIn(removed, o) || o.Epoch()+1 != b.Epoch {
			continue
		}
		if closed == nil {
			closed = make(map[uint64]map[IdentityID]struct{})
		}
		to := closed[o.Epoch()]
		if to == nil {
			to = make(map[IdentityID]struct{}, len(b.Shares))
			closed[o.Epoch()] = to
		}
		for _, sh := range b.Shares {
			to[sh.To] = struct{}{}
		}
	}
	return closed
}

// openTo reports whether an operation of epoch by author (not removed) may
// count as far as epochs go.
func (s *State) openTo(author IdentityID, epoch uint64) bool {
	to, closed := s.closed[epoch]
	if !closed {
		return true
	}
	if _, ok := to[author]; ok {
		return true
	}
	return s.isFacil(author)
}

// MayWrite reports whether an operation author seals under epoch would
// count: false for an identity a rotation of that epoch left out. A node
// asks before writing, so that it refuses with a clear error rather than
// write what counts nowhere.
func (s *State) MayWrite(author IdentityID, epoch uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settle()
	return s.isRemoved(author) || s.openTo(author, epoch)
}

// Rotations returns every rotation operation held, by (clock, id),
// counting or not: a node rescans them when it starts, so that a share
// received but not yet taken (a crash between storing and keeping the key,
// an author whose appointment had not arrived) is not forgotten.
func (s *State) Rotations() []Op {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Op, len(s.rotationOps))
	for i, o := range s.rotationOps {
		out[i] = *o
	}
	return out
}

// authorEpochs are the distinct epochs of an author's operations held: few,
// so a slice.
type authorEpochs []uint64

func (a authorEpochs) add(e uint64) authorEpochs {
	for _, x := range a {
		if x == e {
			return a
		}
	}
	return append(a, e)
}

// anyOpen reports whether some operation of author may count by epoch: an
// identity that only ever wrote in epochs closed to it is not a member.
func (s *State) anyOpen(author IdentityID) bool {
	if len(s.closed) == 0 {
		return true
	}
	for _, e := range s.seen[author] {
		if s.openTo(author, e) {
			return true
		}
	}
	return false
}

func sameClosed(a, b map[uint64]map[IdentityID]struct{}) bool {
	if len(a) != len(b) {
		return false
	}
	for e, x := range a {
		y, ok := b[e]
		if !ok || !sameKeys(x, y) {
			return false
		}
	}
	return true
}
