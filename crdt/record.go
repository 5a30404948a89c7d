package crdt

// Records. A state holds an endorsement's or a revision's body as a
// record whose ids point at copies of those ids it holds anyway: the
// named proposal's, group's or revision's own. A million operations'
// state holds some 300,000 of each kind; an EndorseBody is 97 bytes of
// ids and a RevisionBody 104 plus 32 per parent, the records 32 and 56
// plus 8. The ids are values all the same: a record reads and encodes
// exactly as the body it was made of, and nothing writes through its
// pointers. The public bodies stay what the wire, the API and every
// operation not yet applied carry; only a state's held operations take
// records, and only code reading held operations meets them.

// endorseRec is a held EndorseBody.
type endorseRec struct {
	proposal, group, revision *OpID
	endorse                   bool
}

// revisionRec is a held RevisionBody.
type revisionRec struct {
	proposal, group *OpID
	text            string
	parents         []*OpID
}

var (
	_ Body = (*endorseRec)(nil)
	_ Body = (*revisionRec)(nil)
)

func (*endorseRec) Kind() Kind  { return KindEndorse }
func (*revisionRec) Kind() Kind { return KindRevision }

// A record is made only of a body already validated.
func (*endorseRec) validate() error  { return nil }
func (*revisionRec) validate() error { return nil }

func (b *endorseRec) encode(w *writer) {
	w.id(*b.proposal)
	w.id(*b.group)
	w.id(*b.revision)
	w.bool(b.endorse)
}

func (b *revisionRec) encode(w *writer) {
	w.id(*b.proposal)
	w.id(*b.group)
	w.str(b.text)
	w.uvarint(uint64(len(b.parents)))
	for _, p := range b.parents {
		w.id(*p)
	}
}

// Records are never decoded into: newBody hands out public bodies.
func (*endorseRec) decode(r *reader) {
	r.fail(ErrMalformed, "an endorsement record is not decoded")
}

func (*revisionRec) decode(r *reader) {
	r.fail(ErrMalformed, "a revision record is not decoded")
}

// parentIDs is a copy of the revision's parents.
func (b *revisionRec) parentIDs() []OpID {
	out := make([]OpID, len(b.parents))
	for i, p := range b.parents {
		out[i] = *p
	}
	return out
}

// idRefs finds the held copy of an id a record is to point at, or makes
// one.
type idRefs interface {
	ref(id OpID) *OpID
}

// recSlab hands out records, parent lists and the copies of ids no held
// copy was found for.
type recSlab struct {
	endorse slab[endorseRec]
	rev     slab[revisionRec]
	ptrs    slab[*OpID]
	ids     slab[OpID]
}

func (sl *recSlab) copyID(id OpID) *OpID {
	c := sl.ids.take()
	*c = id
	return c
}

func (sl *recSlab) endorseRec(b *EndorseBody, refs idRefs) *endorseRec {
	r := sl.endorse.take()
	*r = endorseRec{proposal: refs.ref(b.Proposal), group: refs.ref(b.Group), revision: refs.ref(b.Revision), endorse: b.Endorse}
	return r
}

func (sl *recSlab) revisionRec(b *RevisionBody, refs idRefs) *revisionRec {
	r := sl.rev.take()
	*r = revisionRec{proposal: refs.ref(b.Proposal), group: refs.ref(b.Group), text: b.Text}
	if len(b.Parents) > 0 {
		r.parents = sl.ptrs.list(len(b.Parents))
		for i, p := range b.Parents {
			r.parents[i] = refs.ref(p)
		}
	}
	return r
}

// stateRefs finds ids among what a state holds: operations, then the
// proposals and groups filed before their own operation came.
type stateRefs struct{ s *State }

func (r stateRefs) ref(id OpID) *OpID {
	s := r.s
	if o := s.ops.get(id); o != nil {
		return &o.ID
	}
	if p := s.proposals.get(id); p != nil {
		return &p.id
	}
	if g := s.groups.get(id); g != nil {
		return &g.id
	}
	return s.recs.copyID(id)
}

// record is the record a state holds for a public endorsement or revision
// body, and any other body as it is.
func (s *State) record(b Body) Body {
	switch b := b.(type) {
	case *EndorseBody:
		return s.recs.endorseRec(b, stateRefs{s})
	case *RevisionBody:
		return s.recs.revisionRec(b, stateRefs{s})
	}
	return b
}

// loadRefs is a snapshot loader's: the operations it decoded lately that
// records name (proposals, revisions, groups), in a table direct-mapped by
// id prefix. The operation index is built only once all are decoded, and
// most ids a record names are of a proposal's latest revisions, so a
// small table finds nearly all; a miss costs a copy.
type loadRefs struct {
	slots  *[refSlots]refSlot
	copies *recSlab
}

const refSlots = 1 << 18

type refSlot struct {
	key uint64
	id  *OpID
}

// put makes id, an operation's own, what later records naming it point at.
func (r loadRefs) put(id *OpID) {
	k := idPrefix(*id)
	r.slots[k&(refSlots-1)] = refSlot{k, id}
}

func (r loadRefs) ref(id OpID) *OpID {
	k := idPrefix(id)
	e := &r.slots[k&(refSlots-1)]
	if e.id != nil && e.key == k && *e.id == id {
		return e.id
	}
	c := r.copies.copyID(id)
	*e = refSlot{k, c}
	return c
}
