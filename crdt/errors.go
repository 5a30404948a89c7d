package crdt

import "errors"

// Errors of decoding and verification. Callers test with errors.Is; the
// wrapped message says what exactly was wrong.
var (
	ErrMalformed = errors.New("malformed operation")
	ErrTooLarge  = errors.New("operation too large")
	ErrSignature = errors.New("bad signature")
	ErrForeign   = errors.New("operation of another gathering")
	ErrSealed    = errors.New("cannot open sealed payload")
	ErrFuture    = errors.New("clock too far in the future")
	// ErrDuplicate: the operation is already held; not an error of the peer.
	ErrDuplicate = errors.New("duplicate operation")
)

// Errors of the assembly rules, returned by State.Check for an operation a
// node is asked to make.
var (
	ErrNotFound   = errors.New("not found")
	ErrNotScribe  = errors.New("identity is not a scribe of the group")
	ErrForbidden  = errors.New("not allowed")
	ErrCapReached = errors.New("session is full")
	ErrConflict   = errors.New("conflict with the current state")
	ErrClosed     = errors.New("session is closed")
	ErrInvalid    = errors.New("invalid operation")
	// ErrLimit: a per-identity limit of limits.go is reached.
	ErrLimit = errors.New("limit reached")
)
