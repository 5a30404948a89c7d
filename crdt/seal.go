package crdt

import (
	"crypto/hmac"
	"crypto/sha256"
	"fmt"

	"golang.org/x/crypto/chacha20poly1305"
)

// Payload encoding, inside the seal: a version byte (2), a kind byte, then
// the body in the binary encoding of wire.go, which has one encoding per
// body by construction. (Version 1, JSON, was never deployed.)
const payloadVersion = 2

const minSealed = chacha20poly1305.NonceSizeX + chacha20poly1305.Overhead + 2

// Op is an opened operation: who made it, when, and what it says.
type Op struct {
	ID     OpID
	Author IdentityID
	Clock  Clock
	Body   Body
}

// Seal makes a new operation: it validates the body, seals it with the
// gathering's key and signs the envelope as s.
//
// The nonce is derived from the key, header and payload (a synthetic IV), so
// sealing stays a pure function and equal inputs give equal envelopes.
func (k Keys) Seal(s Signer, c Clock, body Body) (*Envelope, Op, error) {
	if err := body.validate(); err != nil {
		return nil, Op{}, err
	}
	plain := appendPayload(nil, body)
	hdr := header(k.Gathering, s.ID, c)
	mac := hmac.New(sha256.New, k.seal[:])
	mac.Write(hdr)
	mac.Write(plain)
	nonce := mac.Sum(nil)[:chacha20poly1305.NonceSizeX]
	aead, err := chacha20poly1305.NewX(k.seal[:])
	if err != nil {
		return nil, Op{}, err
	}
	sealed := aead.Seal(nonce, nonce, plain, hdr)
	env, err := signEnvelope(s, k.Gathering, c, sealed)
	if err != nil {
		return nil, Op{}, err
	}
	return env, Op{ID: env.ID(), Author: s.ID, Clock: c, Body: body}, nil
}

// AcceptSealed is what a node that cannot read a gathering (a hub) checks:
// the encoding, the gathering and the signature.
func AcceptSealed(g GatheringID, b []byte) (*Envelope, error) {
	e, err := DecodeEnvelope(b)
	if err != nil {
		return nil, err
	}
	if e.Gathering != g {
		return nil, fmt.Errorf("%w: %s", ErrForeign, e.Gathering)
	}
	if err := e.Verify(); err != nil {
		return nil, err
	}
	return e, nil
}

// Accept decodes, verifies and opens an encoded operation of this
// gathering. It does not look at the clock (see CheckDrift).
func (k Keys) Accept(b []byte) (*Envelope, Op, error) {
	e, err := AcceptSealed(k.Gathering, b)
	if err != nil {
		return nil, Op{}, err
	}
	op, err := k.Open(e)
	return e, op, err
}

// Open reads the payload of an envelope already verified (or stored after
// verification).
func (k Keys) Open(e *Envelope) (Op, error) {
	if e.Gathering != k.Gathering {
		return Op{}, fmt.Errorf("%w: %s", ErrForeign, e.Gathering)
	}
	aead, err := chacha20poly1305.NewX(k.seal[:])
	if err != nil {
		return Op{}, err
	}
	nonce := e.Sealed[:chacha20poly1305.NonceSizeX]
	hdr := header(e.Gathering, e.Author, e.Clock)
	plain, err := aead.Open(nil, nonce, e.Sealed[chacha20poly1305.NonceSizeX:], hdr)
	if err != nil {
		return Op{}, fmt.Errorf("%w: operation %s", ErrSealed, e.ID())
	}
	body, err := decodePayload(plain)
	if err != nil {
		return Op{}, fmt.Errorf("operation %s: %w", e.ID(), err)
	}
	return Op{ID: e.ID(), Author: e.Author, Clock: e.Clock, Body: body}, nil
}

// appendPayload appends the payload encoding of body to b.
func appendPayload(b []byte, body Body) []byte {
	w := writer{b: append(b, payloadVersion, byte(body.Kind()))}
	body.encode(&w)
	return w.b
}

func decodePayload(plain []byte) (Body, error) {
	if len(plain) < 2 || plain[0] != payloadVersion {
		return nil, fmt.Errorf("%w: unknown payload version", ErrMalformed)
	}
	r := reader{b: plain, off: 2}
	body, err := readBody(&r, Kind(plain[1]))
	if err != nil {
		return nil, err
	}
	if err := r.end(); err != nil {
		return nil, err
	}
	return body, nil
}

// readBody decodes and validates a body of kind k.
func readBody(r *reader, k Kind) (Body, error) {
	body := newBody(k)
	if body == nil {
		return nil, fmt.Errorf("%w: unknown kind %d", ErrMalformed, k)
	}
	body.decode(r)
	if r.err != nil {
		return nil, r.err
	}
	if err := body.validate(); err != nil {
		return nil, err
	}
	return body, nil
}
