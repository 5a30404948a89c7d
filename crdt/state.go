package crdt

import (
	"slices"
	"sync"
)

// State folds a set of operations into the gathering's documents. Apply
// takes operations in any order, any number of times; the documents are a
// deterministic function of the set applied.
//
// Apply only indexes an operation and marks the views it touches as stale;
// the views (a session's document, an event, the lists) are recomputed when
// they are next read, and only those marked. Whether an operation counts
// often depends on authority granted by other operations (facilitators,
// scribes), which may arrive later; evaluating rules when reading, against
// the whole set, is what makes the result independent of arrival order.
//
// Every method takes an internal lock, because reading refreshes caches:
// callers that hold only a read lock of their own may read concurrently.
type State struct {
	mu      sync.Mutex
	founder IdentityID
	ops     opIndex
	free    slab[Op] // room for the next operations, see newOp
	// inOrder: operations are being indexed in increasing (clock, id)
	// order, as ReadSnapshot checks they come, so each is the greatest
	// held and every sorted list takes it by appending (State.insertOp).
	inOrder bool
	// loaded: the operations being indexed come from a snapshot's
	// loader, which shared their bodies already (share.go).
	loaded bool
	// propsStale: the groups' sets of proposals were not filled as a
	// load indexed them (groupHolds).
	propsStale bool
	freeProps  slab[proposal] // room for the next proposals, see proposal
	recs       recSlab        // held endorsements and revisions (record.go)
	refsOf     propRefs       // see propRefs

	// Texts held cold are read back through cold; warm keeps those of
	// heads read back (cold.go).
	cold ColdText
	warm map[*Op]string
	// texty: operations applied since cold was set whose text is still
	// in memory; chill looks at them once there are chillAt (cold.go).
	texty    []*Op
	chillAt  int
	chillMin int // chillEvery unless a test lowers it

	// Authority (authority.go): facilitators, removals and the seating,
	// settled from their operations when authDirty. epoch grows whenever
	// the outcome does; every cache that depends on it records the epoch it
	// was computed at.
	facilOps    []*Op // by (clock, id), as are the other lists of operations
	removalOps  []*Op
	seatingOps  []*Op
	rotationOps []*Op
	authDirty   bool
	facil       map[IdentityID]struct{}
	removed     map[IdentityID]keepSet // removed identities, with what counts of them
	seated      bool
	closed      map[uint64]map[IdentityID]struct{} // closed epochs and whom they stay open to (epochs.go)
	epoch       uint64

	gatheringOps []*Op
	name         cached[string]

	idents     map[IdentityID][]*Op // name operations per identity
	identsList cached[[]Identity]
	seen       map[IdentityID]authorEpochs // every author of an operation held, with its epochs
	authors    map[IdentityID]*IdentityID  // the key every operation of an author shares (Op.author)

	sessions  idMap[session, *session]
	sessOrder []*session // sessions whose operation arrived, by (clock, id)
	sessList  cached[[]Session]

	groups       idMap[group, *group]
	groupOrder   []*group
	groupList    cached[[]Group]
	authorGroups map[IdentityID][]*group // groups by their creator, by (clock, id)

	proposals idMap[proposal, *proposal]
	hides     map[OpID][]*Op // hide operations by target

	events    idMap[event, *event]
	eventList cached[[]Event]
}

// cached is a derived value with its staleness.
type cached[T any] struct {
	val   T
	dirty bool
	epoch uint64
}

func (c *cached[T]) fresh(epoch uint64) bool { return !c.dirty && c.epoch == epoch }

func (c *cached[T]) set(v T, epoch uint64) {
	c.val, c.dirty, c.epoch = v, false, epoch
}

// session indexes what refers to one session id, whether or not the session
// operation itself has arrived.
type session struct {
	id      OpID
	op      *Op
	updates []*Op       // by (clock, id)
	agenda  []*Op       // agenda and phase operations, by (clock, id)
	props   []*proposal // proposals naming it, by their (clock, id)
	ratifs  []*Op       // ratifications naming it, by (clock, id)
	// ratOK remembers whether a ratification names a well-formed document
	// with its digest, once every operation it names is held: those never
	// change, so the answer cannot either (ratified.go).
	ratOK map[OpID]bool
	view  cached[Session]
	doc   cached[Document]
}

// group indexes a group: its operation, scribe grants and seats, and what
// depends on it.
type group struct {
	id     OpID
	op     *Op
	grants []*Op // scribe operations, by (clock, id)
	seats  []*Op // seat operations, by (clock, id)
	// Everything whose validity depends on this group's scribes.
	props  map[*proposal]struct{}
	events map[*event]struct{}
	view   cached[Group]

	// Derived by refreshGroup, valid when !dirty && epoch == State.epoch:
	// whether the group counts, its scribe closure and its seat.
	dirty   bool
	epoch   uint64
	ok      bool
	scribes map[IdentityID]struct{}
	seat    bool
}

// proposal indexes one proposal id; what is derived from the index lives
// in d, allocated when the proposal is first found valid, so that a state
// just loaded holds little besides the index.
type proposal struct {
	id       OpID // (idMap's key)
	op       *Op
	sess     *session
	revs     []*Op // revision operations naming it, by (clock, id)
	endorse  []*Op // endorse operations of any revision, as they arrived
	comments []*Op // by (clock, id)
	trans    []*Op // translations, by (clock, id)
	// coldComment is the body its comments held cold share (share.go).
	coldComment *CommentBody
	dirty       bool
	valid       bool // derived, like d
	epoch       uint64
	d           *proposalDerived // valid when !dirty && epoch == State.epoch
	// inGroup is the group its latest operation named: its props hold
	// the proposal already (see groupHolds).
	inGroup *group
}

type proposalDerived struct {
	validRevs []*Op    // root first, by (clock, id)
	heads     []*Op    // shown head first, then descending (clock, id)
	base      Proposal // its view, but for the rank
	rank      int      // as last placed in its session's document
	dropped   bool     // over the cap and beyond the waiting list's limits
}

// event indexes one event id.
type event struct {
	id      OpID
	op      *Op
	updates []*Op // by (clock, id)
	parts   []*Op // participations, as they arrived
	// lastPart is the latest clock among parts (MayDisplace).
	lastPart Clock
	// lastPartBody is the latest participation's body (share.go).
	lastPartBody *ParticipationBody
	dirty        bool
	epoch        uint64
	valid        bool
	start        int64 // Unix ms of the shown start, for ordering
	view         Event
}

// NewState returns the empty state of the gathering founded by founder.
func NewState(founder IdentityID) *State {
	return &State{
		founder:      founder,
		ops:          opIndex{m: newIDMap[Op]()},
		facil:        map[IdentityID]struct{}{founder: {}},
		epoch:        1,
		idents:       make(map[IdentityID][]*Op),
		seen:         make(map[IdentityID]authorEpochs),
		authors:      make(map[IdentityID]*IdentityID),
		authorGroups: make(map[IdentityID][]*group),
		sessions:     newIDMap[session](),
		groups:       newIDMap[group](),
		proposals:    newIDMap[proposal](),
		hides:        make(map[OpID][]*Op),
		events:       newIDMap[event](),
		name:         cached[string]{dirty: true},
		identsList:   cached[[]Identity]{dirty: true},
		sessList:     cached[[]Session]{dirty: true},
		groupList:    cached[[]Group]{dirty: true},
		eventList:    cached[[]Event]{dirty: true},
	}
}

// Apply adds an operation. It reports whether the operation was new.
// An operation that refers to something not yet applied is held and takes
// effect when that arrives; one that breaks a rule is kept (it is part of the
// set) but has no effect.
func (s *State) Apply(op Op) bool {
	if op.Body == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ops.get(op.ID) != nil {
		return false
	}
	o := s.newOp()
	*o = op
	s.ops.put(o) // get found none above
	s.file(o)
	return true
}

// file takes in a new operation the operation index holds (or, for a
// Builder, will): it records its author and epoch, indexes it, and lets
// the texts no document shows go cold when enough have gathered.
func (s *State) file(o *Op) {
	o.author = s.internAuthor(o.Author())
	s.seen[*o.author] = s.seen[*o.author].add(o.Epoch)
	s.index(o)
	if s.cold != nil && !isCold(o) && textField(o.Body) != nil {
		if s.texty = append(s.texty, o); len(s.texty) >= max(s.chillAt, s.chillFloor()) {
			s.chill()
		}
	}
}

// internAuthor is the key the operations of author share.
func (s *State) internAuthor(author IdentityID) *IdentityID {
	if p := s.authors[author]; p != nil {
		return p
	}
	p := &author
	s.authors[author] = p
	return p
}

// newOp returns room for one more operation, from a slab: operations are
// never removed.
func (s *State) newOp() *Op { return s.free.take() }

// Has reports whether an operation was applied.
func (s *State) Has(id OpID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ops.get(id) != nil
}

// ClockOf returns the clock of an applied operation: with its id, what
// names it in the node's log.
func (s *State) ClockOf(id OpID) (Clock, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o := s.ops.get(id); o != nil {
		return o.Clock, true
	}
	return Clock{}, false
}

// Len is the number of operations applied.
func (s *State) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ops.len()
}

// index files an operation under what it refers to and marks stale the
// views it can change. The caller records its author and epoch in seen.
func (s *State) index(o *Op) {
	switch b := o.Body.(type) {
	case *GatheringBody:
		s.gatheringOps = append(s.gatheringOps, o)
		s.name.dirty = true
	case *IdentityBody:
		s.idents[o.Author()] = s.insertOp(s.idents[o.Author()], o)
		s.identsList.dirty = true
	case *FacilitatorBody:
		s.facilOps = s.insertOp(s.facilOps, o)
		s.authDirty = true
	case *RemovalBody:
		s.removalOps = s.insertOp(s.removalOps, o)
		s.authDirty = true
	case *SeatingBody:
		s.seatingOps = s.insertOp(s.seatingOps, o)
		s.authDirty = true
	case *RotationBody:
		s.rotationOps = s.insertOp(s.rotationOps, o)
		s.authDirty = true
	case *SeatBody:
		g := s.group(b.Group)
		g.seats = s.insertOp(g.seats, o)
		s.dirtyGroup(g)
	case *SessionBody:
		ss := s.session(o.ID)
		ss.op = o
		s.sessOrder = insertIn(s, s.sessOrder, ss, func(x *session) *Op { return x.op })
		for _, p := range ss.props {
			p.dirty = true
		}
		s.dirtySession(ss)
	case *SessionUpdateBody:
		ss := s.session(b.Session)
		ss.updates = s.insertOp(ss.updates, o)
		s.dirtySession(ss)
	case *AgendaBody:
		ss := s.session(b.Session)
		ss.agenda = s.insertOp(ss.agenda, o)
		s.dirtySession(ss)
	case *PhaseBody:
		ss := s.session(b.Session)
		ss.agenda = s.insertOp(ss.agenda, o)
		s.dirtySession(ss)
	case *TranslationBody:
		p := s.proposal(b.Proposal)
		p.trans = s.insertOp(p.trans, o)
		s.groupHolds(b.Group, p)
		s.dirtyProposal(p)
	case *RatificationBody:
		// Read straight from the index (ratified.go); nothing is cached.
		ss := s.session(b.Session)
		ss.ratifs = s.insertOp(ss.ratifs, o)
	case *GroupBody:
		g := s.group(o.ID)
		g.op = o
		s.groupOrder = insertIn(s, s.groupOrder, g, func(x *group) *Op { return x.op })
		s.addAuthorGroup(g)
		s.dirtyGroup(g)
	case *ScribeBody:
		g := s.group(b.Group)
		g.grants = s.insertOp(g.grants, o)
		s.dirtyGroup(g)
	case *ProposalBody:
		p := s.proposal(o.ID)
		p.op = o
		p.sess = s.session(b.Session)
		p.sess.props = insertIn(s, p.sess.props, p, func(x *proposal) *Op { return x.op })
		s.groupHolds(b.Group, p)
		s.dirtyProposal(p)
	case *RevisionBody: // applied: held as a record (record.go)
		p := s.proposal(b.Proposal)
		g := s.groupHolds(b.Group, p)
		o.Body = s.recs.revisionRec(b, &p.id, &g.id, s.propRefs(p))
		s.fileRevision(p, o)
	case *revisionRec: // a snapshot's loader made it
		p := s.proposal(*b.proposal)
		s.groupHolds(*b.group, p)
		s.fileRevision(p, o)
	case *EndorseBody:
		p := s.proposal(b.Proposal)
		g := s.groupHolds(b.Group, p)
		o.Body = s.recs.endorseRec(b, &p.id, &g.id, s.propRefs(p))
		s.fileEndorsement(p, o)
	case *endorseRec:
		p := s.proposal(*b.proposal)
		s.groupHolds(*b.group, p)
		s.fileEndorsement(p, o)
	case *CommentBody:
		// Comments are read straight from the index; nothing is cached.
		p := s.proposal(b.Proposal)
		p.comments = s.insertOp(p.comments, o)
		if b.Text == "" && p.coldComment == nil {
			p.coldComment = b
		}
	case *HideBody:
		s.hides[b.Target] = append(s.hides[b.Target], o)
		s.dirtyHidden(b.Target)
	case *EventBody:
		e := s.event(o.ID)
		e.op = o
		if b.Group != nil {
			s.group(*b.Group).events[e] = struct{}{}
		}
		s.dirtyEvent(e)
	case *EventUpdateBody:
		e := s.event(b.Event)
		e.updates = s.insertOp(e.updates, o)
		s.dirtyEvent(e)
	case *ParticipationBody:
		e := s.event(b.Event)
		if !s.loaded {
			shareParticipation(e, o)
		}
		e.parts = append(e.parts, o)
		if e.lastPart.Less(o.Clock) {
			e.lastPart = o.Clock
		}
		s.dirtyEvent(e)
	}
}

// dirtyHidden marks stale what shows a hidden target, whichever kind of
// content it is (an identity's key is never an operation id). A state
// being loaded (inOrder) has computed nothing yet, so nothing is marked;
// nor is its operation index read, which the loader may be building
// (SnapshotLoader.Decode).
func (s *State) dirtyHidden(target OpID) {
	if s.inOrder {
		return
	}
	t := s.ops.get(target)
	if t == nil {
		s.identsList.dirty = true
		return
	}
	switch tb := t.Body.(type) {
	case *ProposalBody:
		s.dirtyProposal(s.proposal(t.ID))
	case *revisionRec:
		s.dirtyProposal(s.proposal(*tb.proposal))
	case *TranslationBody:
		s.dirtyProposal(s.proposal(tb.Proposal))
	case *GroupBody:
		g := s.group(t.ID)
		g.view.dirty = true
		s.groupList.dirty = true
	case *EventBody:
		s.dirtyEvent(s.event(t.ID))
	}
}

func (s *State) session(id OpID) *session {
	ss := s.sessions.get(id)
	if ss == nil {
		ss = &session{id: id}
		ss.view.dirty, ss.doc.dirty = true, true
		s.sessions.put(ss)
	}
	return ss
}

func (s *State) group(id OpID) *group {
	g := s.groups.get(id)
	if g == nil {
		g = &group{
			id:      id,
			props:   make(map[*proposal]struct{}),
			events:  make(map[*event]struct{}),
			scribes: make(map[IdentityID]struct{}),
			dirty:   true,
		}
		g.view.dirty = true
		s.groups.put(g)
	}
	return g
}

func (s *State) proposal(id OpID) *proposal {
	p := s.proposals.get(id)
	if p == nil {
		// From a slab, as operations are (newOp): proposals are never
		// removed, and a large state holds a hundred thousand.
		p = s.freeProps.take()
		p.id, p.dirty = id, true
		s.proposals.put(p)
	}
	return p
}

// groupHolds files p under the group id names. A proposal's revisions
// mostly name the group its last operation did, whose set then holds it:
// no need to hash it in again.
func (s *State) groupHolds(id OpID, p *proposal) *group {
	if g := p.inGroup; g != nil && g.id == id {
		return g
	}
	g := s.group(id)
	if s.inOrder {
		// Being loaded: the sets are filled at once when first read
		// (fillGroupProps), not grown a proposal at a time, which was
		// 12 MB of a million operations' start in maps outgrown.
		s.propsStale = true
	} else {
		g.props[p] = struct{}{}
	}
	p.inGroup = g
	return g
}

// fillGroupProps files every proposal under each group its operations
// name, if a load left that undone (groupHolds).
func (s *State) fillGroupProps() {
	if !s.propsStale {
		return
	}
	s.propsStale = false
	hold := func(id OpID, p *proposal) {
		if g := s.groups.get(id); g != nil {
			g.props[p] = struct{}{}
		}
	}
	s.proposals.each(func(p *proposal) {
		if p.op != nil {
			hold(p.op.Body.(*ProposalBody).Group, p)
		}
		for _, r := range p.revs {
			hold(*r.Body.(*revisionRec).group, p)
		}
		for _, e := range p.endorse {
			hold(*e.Body.(*endorseRec).group, p)
		}
		for _, t := range p.trans {
			hold(t.Body.(*TranslationBody).Group, p)
		}
	})
}

func (s *State) fileRevision(p *proposal, o *Op) {
	p.revs = s.insertOp(p.revs, o)
	s.dirtyProposal(p)
}

func (s *State) fileEndorsement(p *proposal, o *Op) {
	// A list, not a map by revision: most proposals get a few
	// endorsements, and a small map costs hundreds of bytes.
	p.endorse = append(p.endorse, o)
	s.dirtyProposal(p)
}

func (s *State) event(id OpID) *event {
	e := s.events.get(id)
	if e == nil {
		e = &event{id: id, dirty: true}
		s.events.put(e)
	}
	return e
}

func (s *State) dirtySession(ss *session) {
	ss.view.dirty = true
	ss.doc.dirty = true
	s.sessList.dirty = true
}

func (s *State) dirtyProposal(p *proposal) {
	p.dirty = true
	if p.sess != nil {
		p.sess.doc.dirty = true
	}
}

func (s *State) dirtyEvent(e *event) {
	e.dirty = true
	s.eventList.dirty = true
}

func (s *State) dirtyGroup(g *group) {
	g.dirty = true
	g.view.dirty = true
	s.groupList.dirty = true
	if !s.inOrder { // a state being loaded has derived nothing yet
		s.fillGroupProps()
		for p := range g.props {
			s.dirtyProposal(p)
		}
	}
	for e := range g.events {
		s.dirtyEvent(e)
	}
}

// isFacil reports whether id is a facilitator for the rules: an operation
// of id that counts has a facilitator's authority. A removed facilitator
// keeps it for what its removal kept.
func (s *State) isFacil(id IdentityID) bool {
	_, ok := s.facil[id]
	return ok
}

// isActiveFacil: a facilitator who is not removed, who may act now.
func (s *State) isActiveFacil(id IdentityID) bool {
	return s.isFacil(id) && !s.isRemoved(id)
}

// opLess is the order of operations everywhere: clock, then id bytes.
func opLess(a, b *Op) bool { return opCompare(a, b) < 0 }

func opCompare(a, b *Op) int {
	if c := a.Clock.Compare(b.Clock); c != 0 {
		return c
	}
	return a.ID.compare(b.ID)
}

// insertOp is insertOp of the state's lists: an append while the state
// is indexed in order (inOrder).
func (s *State) insertOp(list []*Op, o *Op) []*Op {
	if s.inOrder {
		return append(list, o)
	}
	return insertOp(list, o)
}

// insertIn is insertByOp of the state's lists (see State.insertOp).
func insertIn[T any](s *State, list []T, x T, key func(T) *Op) []T {
	if s.inOrder {
		return append(list, x)
	}
	return insertByOp(list, x, key)
}

// insertOp keeps list sorted by (clock, id). Operations mostly arrive in
// clock order, so appending is checked first.
func insertOp(list []*Op, o *Op) []*Op {
	return insertByOp(list, o, func(x *Op) *Op { return x })
}

func insertByOp[T any](list []T, x T, key func(T) *Op) []T {
	k := key(x)
	if n := len(list); n == 0 || opLess(key(list[n-1]), k) {
		return append(list, x)
	}
	i, _ := slices.BinarySearchFunc(list, k, func(e T, k *Op) int { return opCompare(key(e), k) })
	return slices.Insert(list, i, x)
}
