package crdt

import (
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
	// lists: where lists grow while a load indexes in order (oplists.go);
	// nil otherwise.
	lists *opLists
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
	signers    map[opSigner]*opSigner      // what the operations of an author in an epoch share (Op.signer)

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
		signers:      make(map[opSigner]*opSigner),
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
	o.signer = s.internSigner(opSigner{o.Author(), o.Epoch()})
	s.seen[o.signer.author] = s.seen[o.signer.author].add(o.signer.epoch)
	s.index(o)
	if s.cold != nil && !isCold(o) && textField(o.Body) != nil {
		if s.texty = append(s.texty, o); len(s.texty) >= max(s.chillAt, s.chillFloor()) {
			s.chill()
		}
	}
}

// internSigner is the signer the operations of one author in one epoch
// share.
func (s *State) internSigner(sg opSigner) *opSigner {
	if p := s.signers[sg]; p != nil {
		return p
	}
	p := &sg
	s.signers[sg] = p
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
