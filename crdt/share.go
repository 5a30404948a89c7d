package crdt

import "encoding/binary"

// Shared bodies. Many operations of a large gathering carry the same body:
// a hundred people going to one event, the comments of one proposal once
// their texts are held cold (cold.go). (Endorsements rarely do: each names
// the endorsing group, and a group endorses a revision once.) A
// body is never changed once applied (chill gives a chilled operation a
// copy), so operations with equal bodies may point at one: that is what
// the state holds of each, not a copy per operation.
//
// Sharing never changes a verdict: equal bodies are equal values, and the
// rules read values. It looks only at the latest body filed under the
// same target, or, in a snapshot's load, at a small table of recent
// bodies, so it costs a constant per operation and never a map the size
// of the state.

// shareParticipation gives o, a participation in e about to be filed, the
// body of e's latest participation if equal to its own: people say they
// go in runs. Only the latest is looked at, through the event, because
// each further one was a read of memory far from the last (the list, an
// operation, its body).
func shareParticipation(e *event, o *Op) {
	b := o.Body.(*ParticipationBody)
	if l := e.lastPartBody; l != nil && *l == *b {
		o.Body = l
		return
	}
	e.lastPartBody = b
}

// coldComment is the body a comment takes when chilled: the one the
// comments of its proposal held cold share, or a copy without text that
// they will.
func (s *State) coldComment(b *CommentBody) Body {
	p := s.proposals.get(b.Proposal)
	if p != nil && p.coldComment != nil {
		return p.coldComment
	}
	c := withText(b, "").(*CommentBody)
	if p != nil {
		p.coldComment = c
	}
	return c
}

// shareSlots is the size of a snapshot loader's tables of recent bodies,
// per kind: a power of two.
const shareSlots = 1 << 12

// bodyShare is a snapshot loader's tables of recent bodies, direct-mapped
// by a hash of their content; a body decoded into its scratch value takes
// the equal one in its slot or a new one from the slab (bodySlab.share).
type bodyShare struct {
	part    [shareSlots]*ParticipationBody
	comment [shareSlots]*CommentBody

	scratchPart    ParticipationBody
	scratchComment CommentBody
}

// slot is a slot for a body keyed by id and a few more bits.
func slot(id OpID, more uint64) int {
	return int((binary.LittleEndian.Uint64(id[:8]) ^ more*0x9e3779b97f4a7c15) & (shareSlots - 1))
}

// scratch is the value a body of kind k is decoded into before share, or
// nil for kinds that are not shared.
func (sh *bodyShare) scratch(k Kind) Body {
	switch k {
	case KindParticipation:
		sh.scratchPart = ParticipationBody{}
		return &sh.scratchPart
	case KindComment:
		sh.scratchComment = CommentBody{}
		return &sh.scratchComment
	}
	return nil
}

// share is the body a snapshot's operation holds for b, which newBody
// handed out: for the shared kinds b is the scratch value, and the body is
// an equal one decoded lately or a copy of b from the slab.
func (sl *bodySlab) share(b Body) Body {
	sh := sl.shared
	if sh == nil {
		return b
	}
	switch b := b.(type) {
	case *ParticipationBody:
		if b != &sh.scratchPart {
			return b
		}
		i := slot(b.Event, uint64(len(b.Status)))
		if c := sh.part[i]; c != nil && *c == *b {
			return c
		}
		c := sl.part.take()
		*c = *b
		sh.part[i] = c
		return c
	case *CommentBody:
		if b != &sh.scratchComment {
			return b
		}
		i := slot(b.Proposal, uint64(len(b.Text)))
		if c := sh.comment[i]; c != nil && *c == *b {
			return c
		}
		c := sl.comment.take()
		*c = *b
		sh.comment[i] = c
		return c
	}
	return b
}
