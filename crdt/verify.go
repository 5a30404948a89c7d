package crdt

import (
	"crypto/ed25519"
	"fmt"

	"filippo.io/edwards25519"
	"github.com/hdevalence/ed25519consensus"
)

// Signature rules. One rule set serves the single check (Envelope.Verify)
// and the batched one (VerifyBatch), so that whether an operation is
// accepted never depends on which path a node happened to take:
//
//  1. the author key A and the signature's R are canonical encodings of
//     curve points that are not of small order (checked here, before any
//     curve arithmetic on the signature);
//  2. the signature verifies under ZIP-215 (ed25519consensus): S < ℓ and the
//     cofactored equation [8][S]B = [8]R + [8][k]A, which is exactly the
//     equation a batch checks, so single and batch agree on every input.
//
// Rule 1 closes what ZIP-215 alone leaves open: with a small-order A (for
// instance the identity, 01 00…00), R the identity and S = 0 the equation
// holds for every message, so junk would need no private key at all.
// Honest keys and signatures from ed25519.Sign always pass both rules.

// Verify checks the author's signature (see the rules above).
func (e *Envelope) Verify() error {
	if err := e.checkPoints(); err != nil {
		return err
	}
	return e.verifySignature()
}

func (e *Envelope) signed() (msg, sig []byte) {
	return e.raw[:len(e.raw)-sigSize], e.raw[len(e.raw)-sigSize:]
}

func (e *Envelope) verifySignature() error {
	msg, sig := e.signed()
	if !ed25519consensus.Verify(ed25519.PublicKey(e.Author[:]), msg, sig) {
		return fmt.Errorf("%w: operation %s", ErrSignature, e.id)
	}
	return nil
}

// checkPoints applies rule 1 to the author key and to R.
func (e *Envelope) checkPoints() error {
	if err := checkPoint(e.Author[:]); err != nil {
		return fmt.Errorf("%w: operation %s: author key %w", ErrSignature, e.id, err)
	}
	_, sig := e.signed()
	if err := checkPoint(sig[:32]); err != nil {
		return fmt.Errorf("%w: operation %s: signature R %w", ErrSignature, e.id, err)
	}
	return nil
}

// errPoint says why an encoded point is refused.
type errPoint string

func (e errPoint) Error() string { return string(e) }

const (
	errNotPoint     errPoint = "is not a curve point"
	errNonCanonical errPoint = "is not canonically encoded"
	errSmallOrder   errPoint = "is of small order"
)

func checkPoint(b []byte) error {
	p, err := new(edwards25519.Point).SetBytes(b)
	if err != nil {
		return errNotPoint
	}
	// SetBytes accepts y ≥ p and a set sign bit on x = 0; the canonical
	// encoding is the one that re-encodes to itself.
	if string(p.Bytes()) != string(b) {
		return errNonCanonical
	}
	if new(edwards25519.Point).MultByCofactor(p).Equal(edwards25519.NewIdentityPoint()) == 1 {
		return errSmallOrder
	}
	return nil
}
