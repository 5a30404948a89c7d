package crdt

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"

	"github.com/convene/convene/internal/hugepage"
)

// Snapshot encoding, version 3, in the terms of wire.go:
//
//	magic     8 bytes
//	authors   list of ids, sorted and distinct
//	count     uvarint
//	count operations, in strictly increasing (clock, id) order, each
//	  id       32 bytes
//	  author   uvarint index into authors
//	  wall     uvarint, the increase over the previous operation's wall
//	  logical  uvarint
//	  epoch    uvarint, the epoch that sealed it (version 3: the rules
//	           read it, see epochs.go)
//	  kind     1 byte
//	  body     the body's encoding, as in a payload
//
// A snapshot holds opened operations, so loading it skips the signature
// checks and the unsealing that dominate rebuilding from the envelopes. It is
// only as trustworthy as the disk it was written to; the operation log stays
// the source of truth.
//
// Version 4 is version 3 where a proposal, revision or comment may have an
// empty text: the state held it cold (cold.go), and so does the state
// loaded from it. A state that reads cold text back keeps only the texts
// its documents show; one that does not keeps every text it holds.
// Version 3 is still read (its texts are all there, so an empty one is
// refused as damage); an older version is refused, and the node rebuilds
// from the log (node/load.go), which holds the epochs.
//
// Version 5 is version 4 with four uvarints after the count: how many of
// the operations are endorsements, revisions and proposals (imports
// included), and how many parents the revisions name. A loader sizes its
// slabs by them at once (a slab that grows by doubling leaves its last
// chunk half unused: 12 MB of a million operations' state); the parents
// only bound what the file may claim, since a revision of one parent
// takes no list. Together they
// count at most the operations; a snapshot whose hints differ from what
// it holds is refused as damaged, so that no state keeps slabs a wrong
// hint sized.
var (
	snapshotMagic   = [8]byte{'c', 'v', 'n', 's', 'n', 'a', 'p', 5}
	snapshotMagicV4 = [8]byte{'c', 'v', 'n', 's', 'n', 'a', 'p', 4}
	snapshotMagicV3 = [8]byte{'c', 'v', 'n', 's', 'n', 'a', 'p', 3}
)

// snapshotHints is what version 5 counts ahead of the operations.
type snapshotHints struct{ endorse, rev, prop, parents int }

// count counts a held body: a state holds endorsements and revisions as
// records (record.go), whether applied or loaded.
func (h *snapshotHints) count(b Body) {
	switch b := b.(type) {
	case *endorseRec:
		h.endorse++
	case *revisionRec:
		h.rev++
		h.parents += int(b.nParents)
	case *ProposalBody:
		h.prop++
	}
}

func hintsOf(ops []*Op) snapshotHints {
	var h snapshotHints
	for _, o := range ops {
		h.count(o.Body)
	}
	return h
}

// minSnapshotOp is the fewest bytes an operation takes in a snapshot (id,
// author, wall, logical, epoch, kind); it bounds the count before allocating.
const minSnapshotOp = 32 + 1 + 1 + 1 + 1 + 1

// Snapshot encodes every operation applied, so that LoadSnapshot rebuilds an
// identical state.
func (s *State) Snapshot() []byte {
	s.mu.Lock()
	ops := make([]*Op, 0, s.ops.len())
	s.ops.each(func(o *Op) { ops = append(ops, o) })
	var hot map[*Op]bool
	var warm map[*Op]string
	if s.cold != nil {
		hot, warm = s.hotOps(), maps.Clone(s.warm)
	}
	s.mu.Unlock()
	slices.SortFunc(ops, opCompare)

	authors := make(map[IdentityID]int)
	for _, o := range ops {
		authors[o.Author()] = 0
	}
	list := make([]IdentityID, 0, len(authors))
	for a := range authors {
		list = append(list, a)
	}
	slices.SortFunc(list, func(a, b IdentityID) int { return bytes.Compare(a[:], b[:]) })
	w := writer{b: make([]byte, 0, 64+len(list)*32+len(ops)*256)}
	w.b = append(w.b, snapshotMagic[:]...)
	w.uvarint(uint64(len(list)))
	for i, a := range list {
		authors[a] = i
		w.id(a)
	}
	w.uvarint(uint64(len(ops)))
	h := hintsOf(ops)
	for _, v := range []int{h.endorse, h.rev, h.prop, h.parents} {
		w.uvarint(uint64(v))
	}
	var wall int64
	for _, o := range ops {
		w.id(o.ID)
		w.uvarint(uint64(authors[o.Author()]))
		w.uvarint(uint64(o.Clock.Wall - wall))
		w.uvarint(uint64(o.Clock.Logical))
		w.uvarint(o.Epoch())
		w.b = append(w.b, byte(o.Body.Kind()))
		encodeStored(&w, o, hot, warm)
		wall = o.Clock.Wall
	}
	return w.b
}

// LoadSnapshot rebuilds a state from Snapshot's encoding. A damaged
// snapshot gives an error, never a partial state.
func LoadSnapshot(founder IdentityID, b []byte) (*State, error) {
	return ReadSnapshot(founder, bytes.NewReader(b), int64(len(b)))
}

// ReadSnapshot is LoadSnapshot reading size bytes from src a window at a
// time, so that a large snapshot is never held whole next to the state it
// rebuilds (see window).
func ReadSnapshot(founder IdentityID, src io.Reader, size int64) (*State, error) {
	l, err := NewSnapshotLoader(founder, src, size)
	if err != nil {
		return nil, err
	}
	if err := l.Decode(l.Len()); err != nil {
		return nil, err
	}
	l.File(l.Len())
	return l.Finish()
}

// SnapshotLoader reads a snapshot in two halves that may run at the same
// time on two goroutines, the caller's: Decode reads operations from the
// file, File files those decoded into the state. ReadSnapshot runs them
// one after the other.
type SnapshotLoader struct {
	s       *State
	w       *window
	r       reader
	coldOK  bool // only version 4 holds texts cold (readStoredBody)
	authors []IdentityID
	// The epochs of each author, by index into authors: seen, filled at
	// the end without hashing an id per operation.
	epochs []authorEpochs
	// last: the signer last used for each author (signer); all of them
	// are in the state's signers.
	last   []*opSigner
	bodies bodySlab
	wall   int64
	// Every operation in one allocation: the operation index takes them
	// as one table (opindex.go).
	all            []Op
	decoded, filed int
	// hints: what a version 5 snapshot's header counted, checked at
	// Finish against counted, what was decoded.
	hints   *snapshotHints
	counted snapshotHints
	// tabled: the operation index's table is built (by the Decode that
	// decoded the last operation, while File may still be filing);
	// repeated: an id came twice.
	tabled, repeated bool
}

// NewSnapshotLoader reads the snapshot's header.
func NewSnapshotLoader(founder IdentityID, src io.Reader, size int64) (*SnapshotLoader, error) {
	l := &SnapshotLoader{w: newWindow(src, size)}
	w, r := l.w, &l.r
	w.fill(r)
	version := 0
	for v, m := range map[int][8]byte{3: snapshotMagicV3, 4: snapshotMagicV4, 5: snapshotMagic} {
		if bytes.HasPrefix(r.b, m[:]) {
			version = v
		}
	}
	if version == 0 {
		return nil, errors.Join(fmt.Errorf("%w: not a state snapshot", ErrMalformed), w.err)
	}
	l.coldOK = version >= 4
	r.off = len(snapshotMagic)
	l.authors = make([]IdentityID, w.count(r, math.MaxInt32, 32))
	for i := range l.authors {
		w.fill(r)
		l.authors[i] = r.id()
		if i > 0 && bytes.Compare(l.authors[i-1][:], l.authors[i][:]) >= 0 {
			r.fail(ErrMalformed, "snapshot authors out of order")
		}
	}
	n := w.count(r, math.MaxInt32, minSnapshotOp)
	var h snapshotHints
	if version >= 5 {
		// A hint sizes an allocation before the operations it counts
		// are read: together they count at most the operations, and
		// the parents at most what the bytes left can hold. Finish
		// refuses a snapshot whose hints were wrong.
		for _, v := range []*int{&h.endorse, &h.rev, &h.prop, &h.parents} {
			*v = int(min(r.uvarint(), math.MaxInt32))
		}
		if h.endorse+h.rev+h.prop > n || int64(h.parents) > (int64(r.left())+w.unread)/32 {
			r.fail(ErrMalformed, "snapshot hints beyond its operations")
		}
		l.hints = &h
	}
	if r.err != nil || w.err != nil {
		return nil, fmt.Errorf("snapshot header: %w", errors.Join(r.err, w.err))
	}
	l.s = NewState(founder)
	l.s.lists = new(opLists)
	l.bodies.nOps = n
	l.bodies.recs.endorse.reserve(h.endorse)
	l.bodies.recs.rev.reserve(h.rev)
	l.bodies.prop.reserve(h.prop)
	l.s.freeProps.reserve(h.prop)
	l.s.proposals.reserve(h.prop)
	l.all = hugepage.Make[Op](n)
	l.epochs = make([]authorEpochs, len(l.authors))
	l.last = make([]*opSigner, len(l.authors))
	r.slab = &l.bodies
	return l, nil
}

// Len is the number of operations the snapshot holds.
func (l *SnapshotLoader) Len() int { return len(l.all) }

// Decode reads the operations up to the upTo-th. It must not run at the
// same time as another Decode, nor as Finish. The Decode that reads the
// last operation also builds the operation index's table, which filing
// does not read: on a loader's two goroutines that sort overlaps the
// filing that is left.
func (l *SnapshotLoader) Decode(upTo int) error {
	if err := l.decode(upTo); err != nil {
		return err
	}
	if l.decoded == len(l.all) && !l.tabled {
		l.tabled = true
		l.repeated = !l.s.ops.setTable(l.all)
	}
	return nil
}

func (l *SnapshotLoader) decode(upTo int) error {
	w, r, all := l.w, &l.r, l.all
	for i := l.decoded; i < min(upTo, len(all)); i++ {
		w.fill(r)
		o := &all[i]
		o.ID = r.id()
		a := r.uvarint()
		d := r.uvarint()
		logical := r.uvarint()
		epoch := r.uvarint()
		kind := r.take(1)
		if r.err != nil || w.err != nil {
			return fmt.Errorf("snapshot operation %d: %w", i, errors.Join(r.err, w.err))
		}
		if a >= uint64(len(l.authors)) || d > uint64(math.MaxInt64-l.wall) || logical > math.MaxUint32 {
			return fmt.Errorf("%w: snapshot operation %d: bad author or clock", ErrMalformed, i)
		}
		l.wall += int64(d)
		o.signer = l.signer(int(a), epoch)
		o.Clock = Clock{Wall: l.wall, Logical: uint32(logical)}
		if i > 0 && opCompare(&all[i-1], o) >= 0 {
			return fmt.Errorf("%w: snapshot operation %d is out of order", ErrMalformed, i)
		}
		body, err := readStoredBody(r, Kind(kind[0]), l.coldOK)
		if err != nil {
			return fmt.Errorf("snapshot operation %d: %w", i, err)
		}
		o.Body = l.bodies.share(body)
		l.counted.count(o.Body)
		switch o.Body.Kind() {
		case KindProposal, KindImport, KindRevision, KindGroup:
			l.bodies.refs().put(&o.ID) // what later records point at
		}
		l.decoded = i + 1
	}
	return nil
}

// File files the operations up to the upTo-th, which must have been
// decoded (by a Decode that returned before this call). It must not run
// at the same time as another File, nor as Finish. Operations come in
// increasing (clock, id) order, as Decode checks, so the index appends to
// its sorted lists without comparing (inOrder); the operation index is
// built only at Finish, and filing asks nothing of it (State.index looks
// an operation up only to mark views stale, and in a state being loaded
// none is computed yet: dirtyHidden). The index's table may be built
// meanwhile (Decode).
func (l *SnapshotLoader) File(upTo int) {
	s := l.s
	s.inOrder, s.loaded = true, true
	for ; l.filed < min(upTo, len(l.all)); l.filed++ {
		s.index(&l.all[l.filed])
	}
	s.inOrder, s.loaded = false, false
}

// Finish checks the end of the snapshot, once every operation is decoded
// and filed, and returns the state.
func (l *SnapshotLoader) Finish() (*State, error) {
	if l.decoded < len(l.all) || l.filed < len(l.all) {
		return nil, fmt.Errorf("%w: snapshot finished after %d of %d operations", ErrMalformed, min(l.decoded, l.filed), len(l.all))
	}
	l.w.fill(&l.r)
	if err := errors.Join(l.r.end(), l.w.err); err != nil {
		return nil, fmt.Errorf("after the snapshot: %w", err)
	}
	s := l.s
	s.lists = nil
	if l.repeated {
		return nil, fmt.Errorf("%w: snapshot repeats an operation", ErrMalformed)
	}
	if l.hints != nil && *l.hints != l.counted {
		return nil, fmt.Errorf("%w: snapshot hints %+v, its operations %+v", ErrMalformed, *l.hints, l.counted)
	}
	for i, e := range l.epochs {
		if e != nil {
			s.seen[l.authors[i]] = e
		}
	}
	return s, nil
}

// signer is what the operations of author a (an index into authors) in
// epoch share. An author's operations are nearly all of one epoch, so the
// last one made for each author is tried first.
func (l *SnapshotLoader) signer(a int, epoch uint64) *opSigner {
	if sg := l.last[a]; sg != nil && sg.epoch == epoch {
		return sg
	}
	key := opSigner{l.authors[a], epoch}
	sg := l.s.signers[key]
	if sg == nil {
		// Made in the state's own table, which the operations applied
		// after the snapshot share.
		sg = &key
		l.s.signers[key] = sg
		l.epochs[a] = l.epochs[a].add(epoch)
	}
	l.last[a] = sg
	return sg
}

// bodySlab hands out the bodies of the commonest kinds, and the records
// endorsements and revisions are held as (record.go), from slabs: a
// snapshot's million bodies are otherwise a million allocations. Nothing
// a state holds is ever freed, so a chunk lives as long as the state
// anyway.
type bodySlab struct {
	recs    recSlab
	refsOf  loadRefs // see refs
	nOps    int      // the snapshot's, which sizes refsOf's table
	prop    slab[ProposalBody]
	comment slab[CommentBody]
	part    slab[ParticipationBody]
	ids     slab[OpID]
	// shared: the kinds many operations repeat are decoded into a scratch
	// value and shared (share.go).
	shared *bodyShare
}

// newBody is newBody, from the slab for the commonest kinds.
func (sl *bodySlab) newBody(k Kind) Body {
	if sl.shared == nil {
		sl.shared = new(bodyShare)
	}
	if b := sl.shared.scratch(k); b != nil {
		return b
	}
	switch k {
	case KindProposal:
		return sl.prop.take()
	}
	return newBody(k)
}

// idList is a list of n ids from the slab, or, for the revision being
// decoded, the scratch list its record is made of.
func (sl *bodySlab) idList(n int) []OpID {
	if sh := sl.shared; sh != nil && sh.inRevision {
		sh.scratchIDs = append(sh.scratchIDs[:0], make([]OpID, n)...)
		return sh.scratchIDs
	}
	return sl.ids.list(n)
}

// refs finds the ids the loader's records point at. A pointer to a
// field: an idRefs made of a value allocated once a record.
func (sl *bodySlab) refs() *loadRefs {
	if sl.refsOf.slots == nil {
		sl.refsOf = loadRefs{make([]refSlot, refSlotsFor(sl.nOps)), &sl.recs}
	}
	return &sl.refsOf
}

// encodeStored encodes o's body for a snapshot: without its text if the
// state reads cold text back (hot is non-nil) and o's text is not one a
// document shows; a warm text is written back in.
func encodeStored(w *writer, o *Op, hot map[*Op]bool, warm map[*Op]string) {
	t := textField(o.Body)
	if t == nil || hot == nil {
		o.Body.encode(w)
		return
	}
	text := *t
	if !hot[o] {
		text = ""
	} else if text == "" {
		text = warm[o]
	}
	// A copy: the body may be shared with whoever applied it.
	withText(o.Body, text).encode(w)
}
