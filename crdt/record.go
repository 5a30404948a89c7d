package crdt

import "unsafe"

// Records. A state holds an endorsement's or a revision's body as a
// record whose ids point at copies of those ids it holds anyway: the
// named proposal's, group's or revision's own. A million operations'
// state holds some 300,000 of each kind; an EndorseBody is 97 bytes of
// ids and a RevisionBody 104 plus 32 per parent, the records 32 and 48,
// plus 8 per parent when there are several. The ids are values all the
// same: a record reads and encodes exactly as the body it was made of,
// and nothing writes through its pointers. The public bodies stay what
// the wire, the API and every operation not yet applied carry; only a
// state's held operations take records, and only code reading held
// operations meets them.

// endorseRec is a held EndorseBody.
type endorseRec struct {
	proposal, group, revision *OpID
	endorse                   bool
}

// revisionRec is a held RevisionBody.
type revisionRec struct {
	proposal, group *OpID
	text            string
	// parents: with one parent, the usual, that parent's held id (an
	// *OpID); with more, the first of nParents pointers to them (a
	// slab's list). Not a slice: a million operations' revisions save 8
	// bytes each in the record and 8 in a list (parentRefs).
	parents  unsafe.Pointer
	nParents uint32
}

// parentRefs is the held ids of the revision's parents, to read only.
func (b *revisionRec) parentRefs() []*OpID {
	switch b.nParents {
	case 0:
		return nil
	case 1:
		return unsafe.Slice((**OpID)(unsafe.Pointer(&b.parents)), 1)
	}
	return unsafe.Slice((**OpID)(b.parents), b.nParents)
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
	parents := b.parentRefs()
	w.uvarint(uint64(len(parents)))
	for _, p := range parents {
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
	parents := b.parentRefs()
	out := make([]OpID, len(parents))
	for i, p := range parents {
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

// endorseRec is b's record, pointing at prop and group, held copies of
// its proposal's and group's ids.
func (sl *recSlab) endorseRec(b *EndorseBody, prop, group *OpID, refs idRefs) *endorseRec {
	r := sl.endorse.take()
	*r = endorseRec{proposal: prop, group: group, revision: refs.ref(b.Revision), endorse: b.Endorse}
	return r
}

// revisionRec is b's record, as endorseRec.
func (sl *recSlab) revisionRec(b *RevisionBody, prop, group *OpID, refs idRefs) *revisionRec {
	r := sl.rev.take()
	*r = revisionRec{proposal: prop, group: group, text: b.Text}
	switch n := len(b.Parents); n {
	case 0:
	case 1:
		r.parents, r.nParents = unsafe.Pointer(refs.ref(b.Parents[0])), 1
	default:
		list := sl.ptrs.list(n)
		for i, p := range b.Parents {
			list[i] = refs.ref(p)
		}
		r.parents, r.nParents = unsafe.Pointer(unsafe.SliceData(list)), uint32(n)
	}
	return r
}

// propRefs finds the revisions of one proposal a record names: among its
// latest revisions first (an endorsement names the head, a revision the
// heads its author saw), then among every operation held. Looking in the
// operation index first was an eighth of a rebuild's applying.
type propRefs struct {
	s *State
	p *proposal
}

// propRefs is p's, a field of the state: an idRefs made of a value
// allocated once a record (a fifth of a rebuild's garbage).
func (s *State) propRefs(p *proposal) *propRefs {
	s.refsOf = propRefs{s, p}
	return &s.refsOf
}

func (r *propRefs) ref(id OpID) *OpID {
	p := r.p
	for i, n := len(p.revs)-1, 0; i >= 0 && n < 4; i, n = i-1, n+1 {
		if p.revs[i].ID == id {
			return &p.revs[i].ID
		}
	}
	if p.op != nil && p.op.ID == id {
		return &p.op.ID
	}
	if o := r.s.ops.get(id); o != nil {
		return &o.ID
	}
	return r.s.recs.copyID(id)
}

// loadRefs is a snapshot loader's: the operations it decoded lately that
// records name (proposals, revisions, groups), in a table direct-mapped by
// id prefix. The operation index is built only once all are decoded, and
// most ids a record names are of a proposal's latest revisions, so a
// small table finds nearly all; a miss costs a copy.
type loadRefs struct {
	slots  []refSlot // a power of two of them
	copies *recSlab
}

// refSlotsFor is the table's size for a snapshot of n operations: a
// quarter of n, within bounds. On the bench's million, 2^18 slots (2 MB
// for the load) missed 131,000 ids, 2^17 236,000 and 2^19 70,000; every
// slot is written at random, so a table is resident whole however few
// operations fill it.
func refSlotsFor(n int) int {
	slots := 1 << 10
	for slots < n/4 && slots < 1<<18 {
		slots <<= 1
	}
	return slots
}

// refSlot holds an id where it lies, without a copy of its prefix to
// compare first: a slot that holds another id costs reading that id,
// which happens for about one lookup in ten, and a copy would double the
// table (2 MB of a million operations' start).
type refSlot struct{ id *OpID }

// put makes id, an operation's own, what later records naming it point at.
func (r *loadRefs) put(id *OpID) {
	r.slots[idPrefix(*id)&uint64(len(r.slots)-1)] = refSlot{id}
}

func (r *loadRefs) ref(id OpID) *OpID {
	e := &r.slots[idPrefix(id)&uint64(len(r.slots)-1)]
	if e.id != nil && *e.id == id {
		return e.id
	}
	c := r.copies.copyID(id)
	*e = refSlot{c}
	return c
}
