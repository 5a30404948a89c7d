package crdt

// Touches says which session and which event op touches (zero if none),
// so that a node can tell subscribers what an applied operation changed.
// It reads only the state's index: it runs for every operation applied,
// and assembling documents here would make a batch of edits quadratic.
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
	case *ProposalBody:
		session = b.Session
	case *RevisionBody:
		proposal(b.Proposal)
	case *EndorseBody:
		proposal(b.Proposal)
	case *CommentBody:
		proposal(b.Proposal)
	case *HideBody:
		proposal(b.Target)
	case *EventBody:
		event = op.ID
	case *EventUpdateBody:
		event = b.Event
	case *ParticipationBody:
		event = b.Event
	}
	return session, event
}
