// Package crdt holds convene's replicated data: operations (their canonical,
// sealed and signed encoding), the hybrid logical clock that orders them, and
// the State that folds any set of operations, in any order, into the same
// documents.
//
// The package is pure: it does no I/O, reads no clock and starts no
// goroutines. Callers pass in the physical time and the keys, so every rule
// can be tested with plain values.
package crdt
