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

const minSealed = chacha20poly1305.NonceSizeX + chacha20poly1305.Overhead + minBucket

// Padding. Before sealing, a payload is followed by one 0x80 byte and zeros
// up to the size of its bucket: powers of two from minBucket up to
// pageBucket, then multiples of pageBucket. A hub or a peer on the LAN so
// sees a bucket, not the kind of an operation: every kind of fixed size
// (endorsements, hides, registrations, scribes…) seals to minBucket. The
// padding has one form for each payload, and Open refuses any other.
const (
	minBucket  = 128
	pageBucket = 4096
	padMarker  = 0x80
)

// bucket is the padded size of a payload of n bytes, marker included.
func bucket(n int) int {
	if n > pageBucket {
		return (n + pageBucket - 1) / pageBucket * pageBucket
	}
	b := minBucket
	for b < n {
		b <<= 1
	}
	return b
}

// pad appends the marker and the zeros of plain's bucket.
func pad(plain []byte) []byte {
	n := bucket(len(plain) + 1)
	out := make([]byte, n)
	copy(out, plain)
	out[len(plain)] = padMarker
	return out
}

// unpad returns the payload of a padded plaintext, refusing any padding
// other than the one pad makes.
func unpad(p []byte) ([]byte, error) {
	end := len(p)
	for end > 0 && p[end-1] == 0 {
		end--
	}
	if end == 0 || p[end-1] != padMarker || bucket(end) != len(p) {
		return nil, fmt.Errorf("%w: bad padding", ErrMalformed)
	}
	return p[:end-1], nil
}

// Op is an opened operation: who made it, when, and what it says.
type Op struct {
	ID OpID
	// signer is who signed it and under which epoch, shared by the
	// operations of one author in one epoch that a state holds
	// (State.internSigner, the snapshot loader's signers): a million
	// records save 32 bytes each over holding the key and the epoch.
	signer *opSigner
	Clock  Clock
	Body   Body
}

// opSigner is an operation's author and epoch.
type opSigner struct {
	author IdentityID
	epoch  uint64
}

// Author is the identity that signed the operation.
func (o *Op) Author() IdentityID {
	if o.signer == nil {
		return IdentityID{}
	}
	return o.signer.author
}

// Epoch is the epoch whose keys sealed it (the envelope's). The rules
// read it: a rotation to epoch n closes epoch n-1 to the identities it
// was sealed to (epochs.go).
func (o *Op) Epoch() uint64 {
	if o.signer == nil {
		return 0
	}
	return o.signer.epoch
}

// Seal makes a new operation: it validates the body, pads it, seals it with
// the epoch's key, tags the envelope for admission and signs it as s.
//
// The nonce is an HMAC, under its own key, of the header and the padded
// payload (a synthetic IV), so sealing stays a pure function and equal
// inputs give equal envelopes.
func (k Keys) Seal(s Signer, c Clock, body Body) (*Envelope, Op, error) {
	if err := body.validate(); err != nil {
		return nil, Op{}, err
	}
	env, err := k.sealPadded(s, c, pad(appendPayload(nil, body)))
	if err != nil {
		return nil, Op{}, err
	}
	author := s.ID // not &s.ID, which would keep the signer's copy alive
	return env, Op{ID: env.ID(), signer: &opSigner{author, k.Epoch}, Clock: c, Body: body}, nil
}

// sealPadded seals, tags and signs a padded payload.
func (k Keys) sealPadded(s Signer, c Clock, plain []byte) (*Envelope, error) {
	hdr := header(k.Gathering, s.ID, c, k.Epoch)
	mac := hmac.New(sha256.New, k.nonce[:])
	mac.Write(hdr)
	mac.Write(plain)
	nonce := mac.Sum(nil)[:chacha20poly1305.NonceSizeX]
	aead, err := chacha20poly1305.NewX(k.seal[:])
	if err != nil {
		return nil, err
	}
	return signEnvelope(s, hdr, aead.Seal(nonce, nonce, plain, hdr), &k.admission)
}

// AcceptSealed checks what can be checked knowing only the gathering id:
// the encoding, the gathering and the signature. It does not check the
// admission tag; receivers that hold a ticket or keys call Admit first.
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

// Accept decodes, admits, verifies and opens an encoded operation of this
// gathering. It does not look at the clock (see Admit and CheckDrift).
func (k Keys) Accept(b []byte) (*Envelope, Op, error) {
	e, err := DecodeEnvelope(b)
	if err != nil {
		return nil, Op{}, err
	}
	if err := CheckAdmission(&k, e); err != nil {
		return nil, Op{}, err
	}
	if err := e.Verify(); err != nil {
		return nil, Op{}, err
	}
	op, err := k.Open(e)
	return e, op, err
}

// Open reads the payload of an envelope already verified (or stored after
// verification).
func (k Keys) Open(e *Envelope) (Op, error) {
	op, _, err := k.openInto(e, nil)
	return op, err
}

// openInto is Open decrypting into buf's storage, and returns the
// storage used (buf's, or larger) for the caller's next: an opened
// operation copies all it holds out of the plaintext.
func (k Keys) openInto(e *Envelope, buf []byte) (Op, []byte, error) {
	if e.Gathering != k.Gathering {
		return Op{}, buf, fmt.Errorf("%w: %s", ErrForeign, e.Gathering)
	}
	if e.Epoch != k.Epoch {
		return Op{}, buf, fmt.Errorf("%w: epoch %d of operation %s", ErrEpoch, e.Epoch, e.ID())
	}
	aead, err := chacha20poly1305.NewX(k.seal[:])
	if err != nil {
		return Op{}, buf, err
	}
	nonce := e.Sealed[:chacha20poly1305.NonceSizeX]
	padded, err := aead.Open(buf[:0], nonce, e.Sealed[chacha20poly1305.NonceSizeX:], e.aad())
	if err != nil {
		return Op{}, buf, fmt.Errorf("%w: operation %s", ErrSealed, e.ID())
	}
	op, err := openedOp(e, padded)
	return op, padded[:0], err
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
	body, err := decodeBody(r, k)
	if err != nil {
		return nil, err
	}
	if err := body.validate(); err != nil {
		return nil, err
	}
	return body, nil
}

// decodeBody decodes a body of kind k, not yet validated.
func decodeBody(r *reader, k Kind) (Body, error) {
	var body Body
	if r.slab != nil {
		body = r.slab.newBody(k)
	} else {
		body = newBody(k)
	}
	if body == nil {
		return nil, fmt.Errorf("%w: unknown kind %d", ErrMalformed, k)
	}
	body.decode(r)
	if r.err != nil {
		return nil, r.err
	}
	return body, nil
}

// openedOp is the operation an opened, still padded payload holds: the one
// step after decryption that sealed and disclosed operations share.
func openedOp(e *Envelope, padded []byte) (Op, error) {
	plain, err := unpad(padded)
	if err != nil {
		return Op{}, fmt.Errorf("operation %s: %w", e.ID(), err)
	}
	body, err := decodePayload(plain)
	if err != nil {
		return Op{}, fmt.Errorf("operation %s: %w", e.ID(), err)
	}
	author := e.Author
	return Op{ID: e.ID(), signer: &opSigner{author, e.Epoch}, Clock: e.Clock, Body: body}, nil
}
