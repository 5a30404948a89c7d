package crdt

import (
	"bytes"
	"cmp"
	"slices"
)

// The functions below derive the views from the index. Each evaluates the
// rules against the whole set held, so a view depends only on that set.

// hidden resolves the last-writer-wins hide state of a target among the
// facilitators' hide operations.
func (s *State) hidden(target OpID) bool {
	_, ok := s.hiddenBy(target)
	return ok
}

// hiddenBy returns the hide operation that hides target now, if hidden.
func (s *State) hiddenBy(target OpID) (OpID, bool) {
	var best *Op
	for _, o := range s.hides[target] {
		if s.isFacil(o.Author()) && s.counts(o) && (best == nil || opLess(best, o)) {
			best = o
		}
	}
	if best == nil || !best.Body.(*HideBody).Hidden {
		return OpID{}, false
	}
	return best.ID, true
}

func (s *State) gatheringName() string {
	if s.name.fresh(s.epoch) {
		return s.name.val
	}
	var best *Op
	for _, o := range s.gatheringOps {
		if s.isFacil(o.Author()) && s.counts(o) && (best == nil || opLess(best, o)) {
			best = o
		}
	}
	name := ""
	if best != nil {
		name = best.Body.(*GatheringBody).Name
	}
	s.name.set(name, s.epoch)
	return name
}

// sessionView resolves a session's fields; ok is false until the session
// operation has arrived, and if it does not count.
func (s *State) sessionView(ss *session) (Session, bool) {
	if ss.op == nil || !s.counts(ss.op) {
		return Session{}, false
	}
	if ss.view.fresh(s.epoch) {
		return ss.view.val, true
	}
	b := ss.op.Body.(*SessionBody)
	v := Session{ID: ss.id, Title: b.Title, Prompt: b.Prompt, Cap: b.Cap, Open: true}
	if v.Cap <= 0 {
		v.Cap = DefaultCap
	}
	// updates are sorted, so applying the valid ones in order leaves each
	// field at its last writer.
	for _, u := range ss.updates {
		if !ss.op.Clock.Less(u.Clock) || !s.isFacil(u.Author()) || !s.counts(u) {
			continue
		}
		ub := u.Body.(*SessionUpdateBody)
		if ub.Title != nil {
			v.Title = *ub.Title
		}
		if ub.Prompt != nil {
			v.Prompt = *ub.Prompt
		}
		if ub.Cap != nil {
			v.Cap = *ub.Cap
		}
		if ub.Open != nil {
			v.Open = *ub.Open
		}
	}
	s.agenda(ss, &v)
	ss.view.set(v, s.epoch)
	return v, true
}

// revGroup is the group that wrote a revision (the root is the proposal).
func revGroup(o *Op) OpID {
	switch b := o.Body.(type) {
	case *ProposalBody:
		return b.Group
	case *revisionRec:
		return *b.group
	}
	return OpID{}
}

// findRev finds o in revs (sorted by clock, id).
func findRev(revs []*Op, o *Op) int {
	if o == nil {
		return -1
	}
	i, ok := slices.BinarySearchFunc(revs, o, opCompare)
	if !ok {
		return -1
	}
	return i
}

// refreshProposal recomputes a proposal's validity, revision DAG, heads,
// endorsements and hide state if anything they depend on changed.
func (s *State) refreshProposal(p *proposal) {
	if !p.dirty && p.epoch == s.epoch {
		return
	}
	p.dirty, p.epoch = false, s.epoch
	p.valid = false
	if p.op == nil {
		p.d = nil
		return
	}
	b := p.op.Body.(*ProposalBody)
	ss := s.sessions.get(b.Session)
	if ss == nil || ss.op == nil || !s.counts(ss.op) || !ss.op.Clock.Less(p.op.Clock) ||
		!s.counts(p.op) || !s.isScribe(b.Group, p.op.Author()) || !s.canAct(b.Group) ||
		b.From != nil && !s.isFacil(p.op.Author()) {
		p.d = nil
		return
	}
	p.valid = true
	if p.d == nil {
		p.d = new(proposalDerived)
	}
	d := p.d

	// Revisions sorted by (clock, id) see their parents before themselves,
	// since a parent's clock must be smaller: one pass settles the DAG.
	valid := make([]*Op, 1, 1+len(p.revs))
	valid[0] = p.op
	for _, r := range p.revs {
		rb := r.Body.(*revisionRec)
		if !s.counts(r) || !s.isScribe(*rb.group, r.Author()) || !s.canAct(*rb.group) {
			continue
		}
		ok := true
		for _, par := range rb.parentRefs() {
			if i := findRev(valid, s.ops.get(*par)); i < 0 || !valid[i].Clock.Less(r.Clock) {
				ok = false
				break
			}
		}
		if ok {
			valid = append(valid, r)
		}
	}
	named := make([]bool, len(valid))
	for _, r := range valid[1:] {
		for _, par := range r.Body.(*revisionRec).parentRefs() {
			named[findRev(valid, s.ops.get(*par))] = true
		}
	}
	heads := make([]*Op, 0, 1)
	for i := len(valid) - 1; i >= 0; i-- {
		if !named[i] {
			heads = append(heads, valid[i])
		}
	}
	var prev *Op
	if len(d.heads) > 0 {
		prev = d.heads[0]
	}
	d.validRevs, d.heads = valid, heads
	head := heads[0]
	hidden := s.hidden(p.id)

	// Endorsements of the shown head, last writer wins per group; the
	// writing group's own endorsement stands at the head's clock, so any
	// valid operation of that group (which must be later) overrides it.
	hg := revGroup(head)
	state := map[OpID]*Op{}
	for _, e := range p.endorse {
		eb := e.Body.(*endorseRec)
		if *eb.revision != head.ID || !head.Clock.Less(e.Clock) || !s.counts(e) ||
			!s.isScribe(*eb.group, e.Author()) || !s.canAct(*eb.group) {
			continue
		}
		if cur := state[*eb.group]; cur == nil || opLess(cur, e) {
			state[*eb.group] = e
		}
	}
	by := make([]OpID, 0, len(state)+1)
	if _, ok := state[hg]; !ok {
		by = append(by, hg)
	}
	for g, e := range state {
		if e.Body.(*endorseRec).endorse {
			by = append(by, g)
		}
	}
	slices.SortFunc(by, OpID.compare)

	d.base = Proposal{
		ID:           p.id,
		From:         b.From,
		Revision:     head.ID,
		Group:        b.Group,
		Endorsements: len(by),
		EndorsedBy:   by,
		Conflict:     len(heads) > 1,
		Heads:        make([]OpID, len(heads)),
		Revisions:    len(valid),
		Hidden:       hidden,
	}
	if !hidden && !s.hidden(head.ID) {
		text, err := s.headText(prev, head)
		if err != nil {
			p.dirty = true // read again at the next look
		}
		d.base.Text = text
	}
	for i, h := range heads {
		d.base.Heads[i] = h.ID
	}
	d.base.Translations = s.translations(p, head)
}

// document assembles a session's document, or reports false if the session
// operation has not arrived.
func (s *State) document(ss *session) (Document, bool) {
	sv, ok := s.sessionView(ss)
	if !ok {
		return Document{}, false
	}
	if ss.doc.fresh(s.epoch) {
		return ss.doc.val, true
	}
	var visible, hidden []*proposal
	var imported map[importKey]bool
	for _, p := range ss.props {
		s.refreshProposal(p)
		if !p.valid {
			continue
		}
		// An import of a source already imported into this session is a
		// copy: the earliest by (clock, id) stands, the others are dropped.
		if f := p.op.Body.(*ProposalBody).From; f != nil {
			if imported[f.key()] {
				p.d.rank, p.d.dropped = 0, true
				continue
			}
			if imported == nil {
				imported = make(map[importKey]bool)
			}
			imported[f.key()] = true
		}
		if p.d.base.Hidden {
			hidden = append(hidden, p)
		} else {
			visible = append(visible, p)
		}
	}
	n := min(sv.Cap, len(visible))
	in, over := visible[:n], waitingWithin(visible[n:])
	// ss.props is in (clock, id) order, so a stable sort by endorsements
	// leaves ties in that order.
	ranked := slices.Clone(in)
	slices.SortStableFunc(ranked, func(a, b *proposal) int {
		return cmp.Compare(b.d.base.Endorsements, a.d.base.Endorsements)
	})
	doc := Document{
		Session:   sv,
		Proposals: make([]Proposal, 0, len(ranked)+len(hidden)),
		Waiting:   make([]Waiting, 0, len(over)),
	}
	for i, p := range ranked {
		p.d.rank = i + 1
		doc.Proposals = append(doc.Proposals, p.d.base)
		doc.Proposals[len(doc.Proposals)-1].Rank = p.d.rank
	}
	for _, p := range hidden {
		p.d.rank = 0
		doc.Proposals = append(doc.Proposals, p.d.base)
	}
	for _, p := range visible[n:] {
		p.d.rank, p.d.dropped = 0, true
	}
	for _, p := range in {
		p.d.dropped = false
	}
	for _, p := range hidden {
		p.d.dropped = false
	}
	for _, p := range over {
		p.d.rank, p.d.dropped = 0, false
		doc.Waiting = append(doc.Waiting, Waiting{
			ID: p.id, Text: p.d.base.Text, Revision: p.d.base.Revision, Group: p.d.base.Group, From: p.d.base.From,
		})
	}
	ss.doc.set(doc, s.epoch)
	return doc, true
}

// waitingWithin keeps, of the proposals over the cap (in (clock, id)
// order), those within MaxWaitingPerGroup and MaxWaiting; the others are
// not shown at all.
func waitingWithin(over []*proposal) []*proposal {
	var per map[OpID]int
	out := make([]*proposal, 0, min(len(over), MaxWaiting))
	for _, p := range over {
		if len(out) == MaxWaiting {
			break
		}
		if per == nil {
			per = make(map[OpID]int)
		}
		if g := p.d.base.Group; per[g] < MaxWaitingPerGroup {
			per[g]++
			out = append(out, p)
		}
	}
	return out
}

// validProposal returns the proposal with its document placement settled,
// if the document shows it (in place, hidden or waiting).
func (s *State) validProposal(id OpID) (*proposal, bool) {
	p := s.proposals.get(id)
	if p == nil {
		return nil, false
	}
	s.refreshProposal(p)
	if !p.valid {
		return nil, false
	}
	s.document(p.sess)
	if p.d.dropped {
		return nil, false
	}
	return p, true
}

func (s *State) revisions(p *proposal) []Revision {
	out := make([]Revision, 0, len(p.d.validRevs))
	for _, r := range p.d.validRevs {
		v := Revision{
			ID:      r.ID,
			Group:   revGroup(r),
			Author:  r.Author(),
			At:      r.Clock.Time(),
			Parents: []OpID{},
			Hidden:  p.d.base.Hidden || s.hidden(r.ID),
		}
		if rb, ok := r.Body.(*revisionRec); ok {
			v.Parents = rb.parentIDs()
		}
		if !v.Hidden {
			// An unreadable cold text shows as none; nothing caches it.
			v.Text, _ = s.opText(r)
		}
		out = append(out, v)
	}
	return out
}

// comments lists the counting comments, each identity's first
// MaxCommentsPerIdentity on the proposal.
func (s *State) comments(p *proposal) []Comment {
	out := make([]Comment, 0, len(p.comments))
	var per map[IdentityID]int
	for _, c := range p.comments {
		if !s.counts(c) {
			continue
		}
		if per == nil {
			per = make(map[IdentityID]int)
		}
		if per[c.Author()]++; per[c.Author()] > MaxCommentsPerIdentity {
			continue
		}
		v := Comment{ID: c.ID, Author: c.Author(), At: c.Clock.Time(), Hidden: s.hidden(c.ID)}
		if !v.Hidden {
			v.Text, _ = s.opText(c)
		}
		out = append(out, v)
	}
	return out
}

func (s *State) groupView(g *group) (Group, bool) {
	if s.refreshGroup(g); !g.ok {
		return Group{}, false
	}
	if g.view.fresh(s.epoch) {
		return g.view.val, true
	}
	v := Group{ID: g.id, Name: g.op.Body.(*GroupBody).Name, Scribes: make([]IdentityID, 0, len(g.scribes)),
		Seated: g.seat, Hidden: s.hidden(g.id)}
	if v.Hidden {
		v.Name = ""
	}
	for id := range g.scribes {
		v.Scribes = append(v.Scribes, id)
	}
	slices.SortFunc(v.Scribes, func(a, b IdentityID) int { return bytes.Compare(a[:], b[:]) })
	g.view.set(v, s.epoch)
	return v, true
}
