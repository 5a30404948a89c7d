package crdt

// Touches says which session and which event op touches (zero if none),
// so that a node can tell subscribers what an applied operation changed.
// It reads only the state's index: it runs for every operation applied,
// and assembling documents here would make a batch of edits quadratic.
//
// Zero for both means "no one session or event": pages of sessions refresh
// on it (a seat or an appointment changes what counts in every session).
// Operations whose effect reaches further, into events and names too, are
// told by TouchesAll.
func (s *State) Touches(op Op) (session, event OpID) {
	proposal := func(id OpID) {
		if sid, ok := s.SessionOf(id); ok {
			session = sid
		}
	}
	switch b := op.Body.(type) {
	case *SessionBody:
		session = op.ID
	case *SessionUpdateBody:
		session = b.Session
	case *AgendaBody:
		session = b.Session
	case *PhaseBody:
		session = b.Session
	case *TranslationBody:
		proposal(b.Proposal)
	case *ProposalBody:
		session = b.Session
	case *RatificationBody:
		session = b.Session
	case *RevisionBody:
		proposal(b.Proposal)
	case *EndorseBody:
		proposal(b.Proposal)
	case *CommentBody:
		proposal(b.Proposal)
	case *HideBody:
		switch s.kindOf(b.Target) {
		case KindEvent:
			event = b.Target
		case KindProposal, KindImport, KindRevision, KindComment, KindTranslation:
			proposal(b.Target)
		}
	case *EventBody:
		event = op.ID
	case *EventUpdateBody:
		event = b.Event
	case *ParticipationBody:
		event = b.Event
	}
	return session, event
}

// TouchesAll reports whether op may change what any page shows: a removal
// (what counts of an identity, everywhere), the seating (every session and
// who acts), a hidden or shown group or identity name (shown in documents,
// events and lists alike).
func (s *State) TouchesAll(op Op) bool {
	switch b := op.Body.(type) {
	case *RemovalBody, *SeatingBody, *RotationBody:
		// A rotation may shut an epoch to identities: anything may change.
		return true
	case *HideBody:
		k := s.kindOf(b.Target)
		return k == KindGroup || k == 0 // 0: not an operation, so an identity's key
	}
	return false
}

// kindOf is the kind of a held operation, 0 if none is held under id.
func (s *State) kindOf(id OpID) Kind {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o := s.ops.get(id); o != nil {
		return o.Body.Kind()
	}
	return 0
}

// MayDisplace says whether op, not yet applied, could take a place the
// state shows now from what holds it: a proposal, the place in its
// session's cap of a proposal shown in place; a registration as going,
// the seat of an identity seated at its event. It reads only the index, so
// that a node can tell which documents and events are worth assembling
// before and after a batch to flag what took a place (node/flags.go).
//
// Places go in order: a document shows in place the first Cap proposals
// that count, by (clock, id), and an event seats the first Capacity
// identities going, by the clock of each one's last registration. So an
// operation that sorts after every one of its kind that its session or
// event holds comes after everything shown now: whatever arrives with it
// (a lower cap, a proposal or a registration that starts to count), what
// then loses its place sorts after it, or moved there itself (an identity
// that registers again goes to the back). A hidden proposal takes no place.
// Other operations report false.
func (s *State) MayDisplace(op Op) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch b := op.Body.(type) {
	case *ProposalBody:
		ss := s.sessions.get(b.Session)
		if ss == nil || len(ss.props) == 0 {
			return false // nothing held, nothing shown
		}
		return opCompare(&op, ss.props[len(ss.props)-1].op) < 0
	case *ParticipationBody:
		e := s.events.get(b.Event)
		if b.Status != Going || e == nil || len(e.parts) == 0 {
			return false
		}
		return !e.lastPart.Less(op.Clock)
	}
	return false
}
