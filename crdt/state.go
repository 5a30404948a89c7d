package crdt

// CONTRACT STUB: the signatures below are the State API that node/ and web/
// code against. The bodies are being written; keep the signatures.

// State folds a set of operations into the gathering's documents. Apply
// takes operations in any order, any number of times; the documents are a
// deterministic function of the set applied.
//
// State is not safe for concurrent use; the node guards it.
type State struct {
	founder IdentityID
}

// NewState returns the empty state of the gathering founded by founder.
func NewState(founder IdentityID) *State { return &State{founder: founder} }

// Apply adds an operation. It reports whether the operation was new.
// An operation that refers to something not yet applied is held and takes
// effect when that arrives; one that breaks a rule is kept (it is part of the
// set) but has no effect.
func (s *State) Apply(op Op) bool { panic("todo") }

// Has reports whether an operation was applied.
func (s *State) Has(id OpID) bool { panic("todo") }

// Len is the number of operations applied.
func (s *State) Len() int { panic("todo") }

// Check reports whether author may make an operation with this body now:
// nil, or an error wrapping ErrNotFound, ErrNotScribe, ErrForbidden,
// ErrCapReached, ErrClosed, ErrConflict or ErrInvalid. Nodes call it before
// making a local operation; remote operations are never refused by it.
func (s *State) Check(author IdentityID, body Body) error { panic("todo") }

// Name is the gathering's name ("" until a gathering operation arrives).
func (s *State) Name() string { panic("todo") }

func (s *State) Identities() []Identity                               { panic("todo") }
func (s *State) Identity(id IdentityID) (Identity, bool)              { panic("todo") }
func (s *State) IsFacilitator(id IdentityID) bool                     { panic("todo") }
func (s *State) Sessions() []Session                                  { panic("todo") }
func (s *State) Session(id OpID) (Session, bool)                      { panic("todo") }
func (s *State) Document(session OpID) (Document, bool)               { panic("todo") }
func (s *State) Groups() []Group                                      { panic("todo") }
func (s *State) Group(id OpID) (Group, bool)                          { panic("todo") }
func (s *State) IsScribe(group OpID, id IdentityID) bool              { panic("todo") }
func (s *State) Proposal(id OpID) (p Proposal, session OpID, ok bool) { panic("todo") }
func (s *State) Revisions(proposal OpID) ([]Revision, bool)           { panic("todo") }
func (s *State) Comments(proposal OpID) ([]Comment, bool)             { panic("todo") }
func (s *State) Events() []Event                                      { panic("todo") }
func (s *State) Event(id OpID) (Event, bool)                          { panic("todo") }
