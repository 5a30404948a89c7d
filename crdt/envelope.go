package crdt

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"

	"github.com/convene/convene/internal/varint"
)

// Envelope encoding, version 1 (all integers big-endian):
//
//	version    1 byte  (1)
//	gathering 32 bytes
//	author    32 bytes (ed25519 public key)
//	wall       8 bytes (int64 Unix ms)
//	logical    4 bytes
//	length     uvarint, minimal
//	sealed     length bytes (nonce, then XChaCha20-Poly1305 ciphertext)
//	signature 64 bytes (ed25519 over everything before it)
//
// A hub holding only the gathering id can decode and verify an envelope
// without reading the sealed payload.
const (
	EnvelopeVersion = 1
	// MaxEnvelopeSize bounds one operation on the wire and on disk.
	MaxEnvelopeSize = 32 << 10
	headerSize      = 1 + 32 + 32 + 8 + 4
	sigSize         = ed25519.SignatureSize
)

// Envelope is an operation as it travels and is stored: readable header,
// sealed payload, signature. It is immutable once decoded or sealed.
type Envelope struct {
	Gathering GatheringID
	Author    IdentityID
	Clock     Clock
	Sealed    []byte

	raw []byte
	id  OpID
}

// ID is the SHA-256 of the encoding.
func (e *Envelope) ID() OpID { return e.id }

// Bytes is the canonical encoding. Callers must not modify it.
func (e *Envelope) Bytes() []byte { return e.raw }

// DecodeEnvelope parses and checks the shape of an encoded envelope. It does
// not verify the signature (see Verify), so that cheap checks come first.
func DecodeEnvelope(b []byte) (*Envelope, error) {
	if len(b) > MaxEnvelopeSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(b), MaxEnvelopeSize)
	}
	if len(b) < headerSize+1+sigSize {
		return nil, fmt.Errorf("%w: %d bytes is too short", ErrMalformed, len(b))
	}
	if b[0] != EnvelopeVersion {
		return nil, fmt.Errorf("%w: unknown version %d", ErrMalformed, b[0])
	}
	e := &Envelope{}
	copy(e.Gathering[:], b[1:33])
	copy(e.Author[:], b[33:65])
	e.Clock.Wall = int64(binary.BigEndian.Uint64(b[65:73]))
	e.Clock.Logical = binary.BigEndian.Uint32(b[73:77])
	if e.Clock.Wall < 0 {
		return nil, fmt.Errorf("%w: negative clock", ErrMalformed)
	}
	n, w, err := varint.Uvarint(b[headerSize:], math.MaxUint64)
	if err != nil {
		return nil, fmt.Errorf("%w: bad payload length", ErrMalformed)
	}
	start := headerSize + w
	if n < minSealed || uint64(len(b)-start-sigSize) != n {
		return nil, fmt.Errorf("%w: payload length %d does not match the envelope", ErrMalformed, n)
	}
	e.Sealed = b[start : start+int(n) : start+int(n)]
	e.raw = b
	e.id = sha256.Sum256(b)
	return e, nil
}

// Verify checks the author's signature.
func (e *Envelope) Verify() error {
	sig := e.raw[len(e.raw)-sigSize:]
	if !ed25519.Verify(e.Author[:], e.raw[:len(e.raw)-sigSize], sig) {
		return fmt.Errorf("%w: operation %s", ErrSignature, e.id)
	}
	return nil
}

// header encodes the fields before the sealed payload. It is also the
// additional data of the seal, so a payload cannot be moved to another
// envelope.
func header(g GatheringID, author IdentityID, c Clock) []byte {
	h := make([]byte, headerSize, headerSize+binary.MaxVarintLen64)
	h[0] = EnvelopeVersion
	copy(h[1:33], g[:])
	copy(h[33:65], author[:])
	binary.BigEndian.PutUint64(h[65:73], uint64(c.Wall))
	binary.BigEndian.PutUint32(h[73:77], c.Logical)
	return h
}

// signEnvelope assembles and signs an envelope.
func signEnvelope(s Signer, g GatheringID, c Clock, sealed []byte) (*Envelope, error) {
	b := header(g, s.ID, c)
	b = binary.AppendUvarint(b, uint64(len(sealed)))
	b = append(b, sealed...)
	b = append(b, ed25519.Sign(s.Key, b)...)
	if len(b) > MaxEnvelopeSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(b), MaxEnvelopeSize)
	}
	return DecodeEnvelope(b)
}
