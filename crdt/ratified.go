package crdt

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// The fold of ratifications. A ratification counts when its author is a
// facilitator whose operation counts, it comes after its session, every
// operation it names is held (its revisions, their proposals and the
// groups) and the digest it carries is the digest of the document those
// make. Until the operations it names arrive it is held, like any
// operation that refers to something not yet applied. Of the counting
// ratifications of a session, the latest by (clock, id) is the ratified
// document: two facilitators ratifying while apart end, once their laptops
// meet, with the same one on every laptop; all stay in the history.

// Ratification says who fixed a document, when, and its digest.
type Ratification struct {
	ID     OpID       `json:"id"`
	At     time.Time  `json:"at"`
	By     IdentityID `json:"by"`
	Digest Digest     `json:"digest"`
}

// RatifiedDocument is a session's ratified document: the latest counting
// ratification, the document it fixed, and every counting ratification of
// the session, oldest first.
type RatifiedDocument struct {
	Ratification Ratification
	Text         RatifiedText
	History      []Ratification
}

// Ratified returns a session's ratified document, false before one counts.
func (s *State) Ratified(session OpID) (RatifiedDocument, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settle()
	ss := s.sessions.get(session)
	if ss == nil {
		return RatifiedDocument{}, false
	}
	var out RatifiedDocument
	var last *Op
	for _, o := range ss.ratifs {
		if !s.ratificationCounts(ss, o) {
			continue
		}
		out.History = append(out.History, Ratification{ID: o.ID, At: o.Clock.Time(), By: o.Author(), Digest: o.Body.(*RatificationBody).Digest})
		last = o // ratifs is sorted: the last wins
	}
	if last == nil {
		return RatifiedDocument{}, false
	}
	// Only the winner's document is rebuilt: a flood of ratifications
	// costs a reader one document, not one per ratification.
	t, err := s.textOf(last.Body.(*RatificationBody))
	if err != nil {
		return RatifiedDocument{}, false // cannot happen: it counted
	}
	out.Ratification, out.Text = out.History[len(out.History)-1], t
	return out, true
}

// ratificationCounts says whether a ratification counts (see the top of
// this file). Whether its digest matches the document it names is
// remembered once every operation it names is held.
func (s *State) ratificationCounts(ss *session, o *Op) bool {
	if ss.op == nil || !s.counts(ss.op) || !ss.op.Clock.Less(o.Clock) || !s.isFacil(o.Author()) || !s.counts(o) {
		return false
	}
	if ok, known := ss.ratOK[o.ID]; known {
		return ok
	}
	b := o.Body.(*RatificationBody)
	if !s.holdsNamed(b) {
		return false // held until what it names arrives
	}
	t, err := s.textOf(b)
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrUnavailable) {
		return false // not a verdict: asked again at the next read
	}
	ok := err == nil && RatifiedDigest(t) == b.Digest
	if ss.ratOK == nil {
		ss.ratOK = make(map[OpID]bool)
	}
	ss.ratOK[o.ID] = ok
	return ok
}

// holdsNamed reports, without building anything, whether every operation
// a ratification names is held, so that one naming an operation that never
// comes costs lookups on each read and no document.
func (s *State) holdsNamed(b *RatificationBody) bool {
	for _, e := range b.Entries {
		rev := s.ops.get(e.Revision)
		if rev == nil {
			return false
		}
		if rb, ok := rev.Body.(*revisionRec); ok && s.ops.get(*rb.proposal) == nil {
			return false
		}
		switch rev.Body.(type) {
		case *revisionRec, *ProposalBody:
			if s.ops.get(revGroup(rev)) == nil {
				return false
			}
		}
		for _, g := range e.EndorsedBy {
			o := s.ops.get(g)
			if o == nil {
				return false
			}
			// A withheld name stands as the hide of its group: both held.
			if hb, ok := o.Body.(*HideBody); ok && s.ops.get(hb.Target) == nil {
				return false
			}
		}
	}
	return true
}

// textOf builds the document a ratification body names from the
// operations it names, which never change. Hides are not applied: the
// ratified document is a record (Check refuses to ratify hidden content),
// except that an endorsing group may be named by the operation that hid
// it: the document then keeps the endorsement and withholds the group's
// name (an empty name, which no group has), so that a hidden group cannot
// block a ratification by having endorsed.
func (s *State) textOf(b *RatificationBody) (RatifiedText, error) {
	t := RatifiedText{Session: b.Session, Title: b.Title, Proposals: make([]RatifiedProposal, 0, len(b.Entries))}
	group := func(id OpID) (GroupRef, error) {
		g := s.ops.get(id)
		if g == nil {
			return GroupRef{}, fmt.Errorf("%w: group %s", ErrNotFound, id)
		}
		gb, ok := g.Body.(*GroupBody)
		if !ok {
			return GroupRef{}, fmt.Errorf("%w: %s is not a group", ErrInvalid, id)
		}
		return GroupRef{ID: id, Name: gb.Name}, nil
	}
	// endorser reads an endorsing id: a group, or the hide of a group
	// (its name withheld); gid is the group's id either way.
	endorser := func(id OpID) (GroupRef, OpID, error) {
		if o := s.ops.get(id); o != nil {
			if hb, ok := o.Body.(*HideBody); ok {
				if !hb.Hidden {
					return GroupRef{}, OpID{}, fmt.Errorf("%w: %s shows, not hides, %s", ErrInvalid, id, hb.Target)
				}
				if _, err := group(hb.Target); err != nil {
					return GroupRef{}, OpID{}, err
				}
				return GroupRef{ID: id}, hb.Target, nil
			}
		}
		g, err := group(id)
		return g, id, err
	}
	for _, e := range b.Entries {
		rev := s.ops.get(e.Revision)
		if rev == nil {
			return t, fmt.Errorf("%w: revision %s", ErrNotFound, e.Revision)
		}
		pop := rev
		if rb, ok := rev.Body.(*revisionRec); ok {
			if pop = s.ops.get(*rb.proposal); pop == nil {
				return t, fmt.Errorf("%w: proposal %s", ErrNotFound, *rb.proposal)
			}
		}
		pb, ok := pop.Body.(*ProposalBody)
		if !ok || pb.Session != b.Session {
			return t, fmt.Errorf("%w: %s is not a revision of a proposal of session %s", ErrInvalid, e.Revision, b.Session)
		}
		g, err := group(revGroup(rev))
		if err != nil {
			return t, err
		}
		text, err := s.opText(rev)
		if err != nil {
			return t, err
		}
		p := RatifiedProposal{ID: pop.ID, Revision: rev.ID, Group: g, Text: text,
			EndorsedBy: make([]GroupRef, 0, len(e.EndorsedBy)), From: pb.From}
		seen := make(map[OpID]bool, len(e.EndorsedBy))
		for _, id := range e.EndorsedBy {
			g, gid, err := endorser(id)
			if err != nil {
				return t, err
			}
			if seen[gid] {
				return t, fmt.Errorf("%w: group %s endorses proposal %s twice", ErrInvalid, gid, pop.ID)
			}
			seen[gid] = true
			p.EndorsedBy = append(p.EndorsedBy, g)
		}
		t.Proposals = append(t.Proposals, p)
	}
	return t, nil
}

// RatificationOf makes the ratification of a session's document as it now
// stands: its title and ranked proposals, their shown revisions and the
// groups whose endorsements count. Check it before sealing it.
func (s *State) RatificationOf(session OpID) (*RatificationBody, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settle()
	sv, err := s.checkSession(session)
	if err != nil {
		return nil, err
	}
	doc, _ := s.document(s.sessions.get(session))
	b := &RatificationBody{Session: session, Title: sv.Title}
	for _, p := range doc.Proposals {
		if p.Rank == 0 {
			continue // hidden: not part of the document
		}
		// A hidden endorsing group is named by the hide that hides it now:
		// the endorsement stays, the name is withheld.
		by := make([]OpID, 0, len(p.EndorsedBy))
		for _, g := range p.EndorsedBy {
			if h, ok := s.hiddenBy(g); ok {
				g = h
			}
			by = append(by, g)
		}
		slices.SortFunc(by, OpID.compare)
		b.Entries = append(b.Entries, RatifiedEntry{Revision: p.Revision, EndorsedBy: by})
	}
	t, err := s.textOf(b)
	if err != nil {
		return nil, err
	}
	b.Digest = RatifiedDigest(t)
	return b, nil
}

// checkRatification: a facilitator ratifies what it can show. A document
// whose shown text, revision or proposing group is hidden is refused, since
// the ratified record would publish them; a hidden endorsing group must be
// named by its hide (its name withheld, its endorsement kept), never by its
// own id.
func (s *State) checkRatification(author IdentityID, b *RatificationBody) error {
	if err := s.checkFacil(author, "ratify a document"); err != nil {
		return err
	}
	if _, err := s.checkSession(b.Session); err != nil {
		return err
	}
	t, err := s.textOf(b)
	if err != nil {
		return err
	}
	if RatifiedDigest(t) != b.Digest {
		return fmt.Errorf("%w: the digest is not that of the document the ratification names", ErrInvalid)
	}
	for _, p := range t.Proposals {
		if s.hidden(p.ID) || s.hidden(p.Revision) || s.hidden(p.Group.ID) {
			return fmt.Errorf("%w: proposal %s shows hidden content; show it or hide the proposal before ratifying", ErrConflict, p.ID)
		}
		for _, g := range p.EndorsedBy {
			if g.Name != "" && s.hidden(g.ID) {
				return fmt.Errorf("%w: group %s is hidden; name it by its hide to withhold its name", ErrConflict, g.ID)
			}
		}
	}
	return nil
}

// checkImport: a facilitator imports, as a group it is a scribe of, into
// an open session, a source not yet imported there. Over the cap, an
// import waits (like a proposal over the cap after a merge) while the
// waiting list has room for its group; beyond that it is refused.
func (s *State) checkImport(author IdentityID, b *ProposalBody) error {
	if err := s.checkFacil(author, "import proposals"); err != nil {
		return err
	}
	sv, err := s.checkProposalPlace(author, b)
	if err != nil {
		return err
	}
	ss := s.sessions.get(b.Session)
	for _, p := range ss.props {
		if s.refreshProposal(p); p.valid {
			if f := p.op.Body.(*ProposalBody).From; f != nil && f.key() == b.From.key() {
				return fmt.Errorf("%w: revision %s of proposal %s was already imported into session %s", ErrConflict, b.From.Revision, b.From.Proposal, b.Session)
			}
		}
	}
	doc, _ := s.document(ss)
	n := len(doc.Waiting)
	for _, p := range doc.Proposals {
		if !p.Hidden {
			n++
		}
	}
	if n < sv.Cap {
		return nil
	}
	per := 0
	for _, w := range doc.Waiting {
		if w.Group == b.Group {
			per++
		}
	}
	if per >= MaxWaitingPerGroup || len(doc.Waiting) >= MaxWaiting {
		return fmt.Errorf("%w: %d proposals, cap %d, and no room left in the waiting list", ErrCapReached, n, sv.Cap)
	}
	return nil
}
