package crdt

import (
	"fmt"
	"slices"
)

// Validate checks a body's shape alone, as Check and sealing do first: for
// a caller that must know a whole batch is well formed before it makes any
// of it (an import, whose texts come from a file).
func Validate(body Body) error {
	if body == nil {
		return fmt.Errorf("%w: no body", ErrInvalid)
	}
	return body.validate()
}

// Check reports whether author may make an operation with this body now:
// nil, or an error wrapping ErrNotFound, ErrNotScribe, ErrForbidden,
// ErrCapReached, ErrClosed, ErrConflict, ErrLimit or ErrInvalid. Nodes call
// it before making a local operation; remote operations are never refused
// by it. A removed identity may make nothing.
func (s *State) Check(author IdentityID, body Body) error {
	if body == nil {
		return fmt.Errorf("%w: no body", ErrInvalid)
	}
	if err := body.validate(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settle()
	if s.isRemoved(author) {
		return fmt.Errorf("%w: identity %s was removed from the gathering", ErrForbidden, author)
	}
	switch b := body.(type) {
	case *GatheringBody:
		return s.checkFacil(author, "rename the gathering")
	case *IdentityBody, *SessionBody:
		return nil
	case *GroupBody:
		n := 0
		for _, g := range s.authorGroups[author] {
			if s.refreshGroup(g); g.ok {
				n++
			}
		}
		if n >= MaxGroupsPerIdentity {
			return fmt.Errorf("%w: an identity creates at most %d groups", ErrLimit, MaxGroupsPerIdentity)
		}
		return nil
	case *RemovalBody:
		if err := s.checkFacil(author, "remove an identity"); err != nil {
			return err
		}
		switch b.Identity {
		case s.founder:
			return fmt.Errorf("%w: the founder cannot be removed", ErrForbidden)
		case author:
			return fmt.Errorf("%w: a facilitator cannot remove itself", ErrInvalid)
		}
		return nil
	case *SeatingBody:
		return s.checkFacil(author, "change the seating")
	case *RotationBody:
		return s.checkFacil(author, "rotate the invite")
	case *SeatBody:
		if err := s.checkFacil(author, "seat a group"); err != nil {
			return err
		}
		if _, ok := s.validGroup(b.Group); !ok {
			return fmt.Errorf("%w: group %s", ErrNotFound, b.Group)
		}
		return nil
	case *FacilitatorBody:
		return s.checkFacil(author, "appoint a facilitator")
	case *SessionUpdateBody:
		if _, err := s.checkSession(b.Session); err != nil {
			return err
		}
		return s.checkFacil(author, "change a session")
	case *AgendaBody:
		if _, err := s.checkSession(b.Session); err != nil {
			return err
		}
		return s.checkFacil(author, "set a session's agenda")
	case *PhaseBody:
		if err := s.checkPhase(b); err != nil {
			return err
		}
		return s.checkFacil(author, "start a step of the agenda")
	case *TranslationBody:
		return s.checkTranslation(author, b)
	case *ScribeBody:
		return s.checkScribe(b.Group, author)
	case *RatificationBody:
		return s.checkRatification(author, b)
	case *ProposalBody:
		if b.From != nil {
			return s.checkImport(author, b)
		}
		sv, err := s.checkProposalPlace(author, b)
		if err != nil {
			return err
		}
		doc, _ := s.document(s.sessions.get(b.Session))
		n := len(doc.Waiting)
		for _, p := range doc.Proposals {
			if !p.Hidden {
				n++
			}
		}
		if n >= sv.Cap {
			return fmt.Errorf("%w: %d proposals, cap %d; edit an existing proposal instead", ErrCapReached, n, sv.Cap)
		}
		return nil
	case *RevisionBody:
		p, err := s.checkGroupAct(b.Proposal, b.Group, author)
		if err != nil {
			return err
		}
		heads := make([]OpID, len(p.d.heads))
		for i, h := range p.d.heads {
			heads[i] = h.ID
		}
		slices.SortFunc(heads, OpID.compare)
		if !slices.Equal(heads, b.Parents) {
			return fmt.Errorf("%w: the parents must be the current heads of proposal %s", ErrConflict, b.Proposal)
		}
		return nil
	case *EndorseBody:
		p, err := s.checkGroupAct(b.Proposal, b.Group, author)
		if err != nil {
			return err
		}
		if findRev(p.d.validRevs, s.ops.get(b.Revision)) < 0 {
			return fmt.Errorf("%w: revision %s of proposal %s", ErrNotFound, b.Revision, b.Proposal)
		}
		if b.Endorse && p.d.heads[0].ID != b.Revision {
			return fmt.Errorf("%w: revision %s is not the current revision of proposal %s", ErrConflict, b.Revision, b.Proposal)
		}
		return nil
	case *CommentBody:
		p, ok := s.validProposal(b.Proposal)
		if !ok {
			return fmt.Errorf("%w: proposal %s", ErrNotFound, b.Proposal)
		}
		n := 0
		for _, c := range p.comments {
			if c.Author() == author && s.counts(c) {
				n++
			}
		}
		if n >= MaxCommentsPerIdentity {
			return fmt.Errorf("%w: at most %d comments per identity on one proposal", ErrLimit, MaxCommentsPerIdentity)
		}
		return nil
	case *HideBody:
		if err := s.checkFacil(author, "hide content"); err != nil {
			return err
		}
		if t := s.ops.get(b.Target); t != nil {
			switch t.Body.(type) {
			case *ProposalBody, *revisionRec, *CommentBody, *GroupBody, *EventBody, *TranslationBody:
				return nil
			}
		} else if _, ok := s.seen[IdentityID(b.Target)]; ok {
			return nil
		}
		return fmt.Errorf("%w: no proposal, revision, comment, translation, group, event or identity %s", ErrNotFound, b.Target)
	case *EventBody:
		if b.Group != nil {
			return s.checkScribe(*b.Group, author)
		}
		return nil
	case *EventUpdateBody:
		e, err := s.checkEvent(b.Event)
		if err != nil {
			return err
		}
		if !s.canEditEvent(e, author) {
			return fmt.Errorf("%w: only the event's creator, its group's scribes or a facilitator can change it", ErrForbidden)
		}
		return nil
	case *ParticipationBody:
		_, err := s.checkEvent(b.Event)
		return err
	}
	return fmt.Errorf("%w: unknown kind %d", ErrInvalid, body.Kind())
}

func (s *State) checkFacil(id IdentityID, what string) error {
	if !s.isActiveFacil(id) {
		return fmt.Errorf("%w: only a facilitator can %s", ErrForbidden, what)
	}
	return nil
}

// checkProposalPlace: a proposal, made here or imported, names an open
// session and a group its author is a scribe of, seated if the gathering
// is.
func (s *State) checkProposalPlace(author IdentityID, b *ProposalBody) (Session, error) {
	sv, err := s.checkSession(b.Session)
	if err != nil {
		return Session{}, err
	}
	if err := s.checkScribe(b.Group, author); err != nil {
		return Session{}, err
	}
	if err := s.checkSeated(b.Group); err != nil {
		return Session{}, err
	}
	if !sv.Open {
		return Session{}, fmt.Errorf("%w: session %s", ErrClosed, b.Session)
	}
	return sv, nil
}

func (s *State) checkSession(id OpID) (Session, error) {
	if ss := s.sessions.get(id); ss != nil {
		if v, ok := s.sessionView(ss); ok {
			return v, nil
		}
	}
	return Session{}, fmt.Errorf("%w: session %s", ErrNotFound, id)
}

// checkSeated: in a seated gathering, only seated groups act.
func (s *State) checkSeated(gid OpID) error {
	if !s.canAct(gid) {
		return fmt.Errorf("%w: the gathering is seated and group %s is not", ErrForbidden, gid)
	}
	return nil
}

func (s *State) checkScribe(gid OpID, id IdentityID) error {
	if _, ok := s.validGroup(gid); !ok {
		return fmt.Errorf("%w: group %s", ErrNotFound, gid)
	}
	if !s.isScribe(gid, id) {
		return fmt.Errorf("%w: %s in group %s", ErrNotScribe, id, gid)
	}
	return nil
}

// checkGroupAct checks what editing and endorsing share: the proposal and
// group exist, author acts for the group, and the session is open.
func (s *State) checkGroupAct(pid, gid OpID, author IdentityID) (*proposal, error) {
	p, ok := s.validProposal(pid)
	if !ok {
		return nil, fmt.Errorf("%w: proposal %s", ErrNotFound, pid)
	}
	if err := s.checkScribe(gid, author); err != nil {
		return nil, err
	}
	if err := s.checkSeated(gid); err != nil {
		return nil, err
	}
	if sv, _ := s.sessionView(p.sess); !sv.Open {
		return nil, fmt.Errorf("%w: session %s", ErrClosed, sv.ID)
	}
	return p, nil
}

func (s *State) checkEvent(id OpID) (*event, error) {
	e := s.events.get(id)
	if e != nil {
		s.refreshEvent(e)
	}
	if e == nil || !e.valid {
		return nil, fmt.Errorf("%w: event %s", ErrNotFound, id)
	}
	return e, nil
}
