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

// A snapshot loader's tables of recent bodies, direct-mapped by their
// key: a participation's by its event and status, a cold comment's by its
// proposal. A table's slot holds the key beside the body, so that a body
// that cannot be equal is told without reading the other, which lies
// anywhere in the slabs (looking at the body every time was a tenth of a
// load). The tables are large beside what they hold (a million
// operations' comments name some 50,000 proposals, their participations
// a few hundred events with three statuses each), so that few alike
// bodies evict each other; they live as long as the load.
const (
	partSlots    = 1 << 14
	commentSlots = 1 << 16
)

type sharedBody[T any] struct {
	key  uint64
	body *T
}

// bodyShare is the tables and the scratch values bodies are decoded into
// before they are shared (bodySlab.share).
type bodyShare struct {
	part    [partSlots]sharedBody[ParticipationBody]
	comment [commentSlots]sharedBody[CommentBody]

	scratchPart    ParticipationBody
	scratchComment CommentBody
	// Endorsements and revisions are decoded into scratch values and
	// held as records (record.go); a revision's parents too, while
	// inRevision.
	scratchEndorse EndorseBody
	scratchRev     RevisionBody
	scratchIDs     []OpID
	inRevision     bool
}

// shareKey is a body's key: some bytes of the id it names, mixed with a
// few more bits of what else it says.
func shareKey(id OpID, more uint64) uint64 {
	return binary.LittleEndian.Uint64(id[:8]) ^ more*0x9e3779b97f4a7c15
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
	case KindEndorse:
		sh.scratchEndorse = EndorseBody{}
		return &sh.scratchEndorse
	case KindRevision:
		sh.scratchRev = RevisionBody{}
		sh.inRevision = true
		return &sh.scratchRev
	}
	return nil
}

// share is the body a snapshot's operation holds for b, which newBody
// handed out (for the shared kinds, the scratch value): an equal one
// decoded lately, or a copy of b from the slab.
func (sl *bodySlab) share(b Body) Body {
	sh := sl.shared
	if sh == nil {
		return b
	}
	switch b := b.(type) {
	case *EndorseBody:
		refs := sl.refs()
		return sl.recs.endorseRec(b, refs.ref(b.Proposal), refs.ref(b.Group), refs)
	case *RevisionBody:
		sh.inRevision = false
		refs := sl.refs()
		return sl.recs.revisionRec(b, refs.ref(b.Proposal), refs.ref(b.Group), refs)
	case *ParticipationBody:
		k := shareKey(b.Event, uint64(len(b.Status)))
		e := &sh.part[k&(partSlots-1)]
		if e.body != nil && e.key == k && *e.body == *b {
			return e.body
		}
		c := sl.part.take()
		*c = *b
		e.key, e.body = k, c
		return c
	case *CommentBody:
		// Only comments held cold are alike: a text makes each its own.
		var e *sharedBody[CommentBody]
		if b.Text == "" {
			k := shareKey(b.Proposal, 0)
			e = &sh.comment[k&(commentSlots-1)]
			if e.body != nil && e.key == k && *e.body == *b {
				return e.body
			}
			e.key = k
		}
		c := sl.comment.take()
		*c = *b
		if e != nil {
			e.body = c
		}
		return c
	}
	return b
}
