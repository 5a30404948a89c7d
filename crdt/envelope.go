package crdt

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"

	"github.com/convene/convene/internal/varint"
)

// Envelope encoding, version 2 (fixed-width integers big-endian):
//
//	version    1 byte  (2)
//	gathering 32 bytes
//	author    32 bytes (ed25519 public key)
//	wall       8 bytes (int64 Unix ms)
//	logical    4 bytes
//	epoch      uvarint, minimal (the epoch of the keys that sealed it)
//	length     uvarint, minimal
//	sealed     length bytes (nonce, then XChaCha20-Poly1305 ciphertext)
//	tag       16 bytes (admission: HMAC-SHA-256 under the epoch's admission
//	                    key of everything before it, truncated)
//	signature 64 bytes (ed25519 over everything before it, tag included)
//
// A hub holding a Ticket can decode an envelope, check its admission tag and
// verify it without reading the sealed payload. Version 1 (no epoch, no tag)
// is not accepted: see docs/DECISIONS.md.
const (
	EnvelopeVersion = 2
	// MaxEnvelopeSize bounds one operation on the wire and on disk.
	MaxEnvelopeSize = 32 << 10
	// headerSize is the fixed part of the header, before the epoch.
	headerSize = 1 + 32 + 32 + 8 + 4
	tagSize    = 16
	sigSize    = ed25519.SignatureSize
)

// Envelope is an operation as it travels and is stored: readable header,
// sealed payload, admission tag, signature. It is immutable once decoded or sealed.
type Envelope struct {
	Gathering GatheringID
	Author    IdentityID
	Clock     Clock
	Epoch     uint64
	Sealed    []byte

	raw []byte
	id  OpID
}

// ID is the SHA-256 of the encoding.
func (e *Envelope) ID() OpID { return e.id }

// Bytes is the canonical encoding. Callers must not modify it.
func (e *Envelope) Bytes() []byte { return e.raw }

// DecodeEnvelope parses and checks the shape of an encoded envelope. It
// checks neither the admission tag (see CheckAdmission) nor the signature
// (see Verify), so that cheap checks come first.
func DecodeEnvelope(b []byte) (*Envelope, error) {
	e := new(Envelope)
	if err := DecodeEnvelopeInto(e, b); err != nil {
		return nil, err
	}
	return e, nil
}

// DecodeEnvelopeInto is DecodeEnvelope into e, for a caller that decodes
// many in turn (a replay). On error e is left empty.
func DecodeEnvelopeInto(e *Envelope, b []byte) error {
	// decode sets every field when it succeeds.
	if err := e.decode(b); err != nil {
		*e = Envelope{}
		return err
	}
	return nil
}

// decode fills every field of e from b; on error, it may have filled some.
func (e *Envelope) decode(b []byte) error {
	if len(b) > MaxEnvelopeSize {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(b), MaxEnvelopeSize)
	}
	if len(b) < headerSize+2+minSealed+tagSize+sigSize {
		return fmt.Errorf("%w: %d bytes is too short", ErrMalformed, len(b))
	}
	if b[0] != EnvelopeVersion {
		return fmt.Errorf("%w: unknown version %d", ErrMalformed, b[0])
	}
	copy(e.Gathering[:], b[1:33])
	copy(e.Author[:], b[33:65])
	e.Clock.Wall = int64(binary.BigEndian.Uint64(b[65:73]))
	e.Clock.Logical = binary.BigEndian.Uint32(b[73:77])
	if e.Clock.Wall < 0 {
		return fmt.Errorf("%w: negative clock", ErrMalformed)
	}
	off := headerSize
	epoch, w, err := varint.Uvarint(b[off:], math.MaxUint64)
	if err != nil {
		return fmt.Errorf("%w: bad epoch", ErrMalformed)
	}
	e.Epoch = epoch
	off += w
	n, w, err := varint.Uvarint(b[off:], math.MaxUint64)
	if err != nil {
		return fmt.Errorf("%w: bad payload length", ErrMalformed)
	}
	off += w
	if n < minSealed || uint64(len(b)-off-tagSize-sigSize) != n {
		return fmt.Errorf("%w: payload length %d does not match the envelope", ErrMalformed, n)
	}
	e.Sealed = b[off : off+int(n) : off+int(n)]
	e.raw = b
	e.id = sha256.Sum256(b)
	return nil
}

// aad is the seal's additional data, the header: the start of the
// envelope's own encoding, unless a field was changed since it was
// decoded or sealed (varints have one encoding, so equal fields are equal
// bytes). Not building it anew saved a replay of a million operations
// 106 MB of garbage.
func (e *Envelope) aad() []byte {
	n := headerSize + varint.Len(e.Epoch)
	r := e.raw
	if len(r) >= n && r[0] == EnvelopeVersion && GatheringID(r[1:33]) == e.Gathering &&
		IdentityID(r[33:65]) == e.Author && int64(binary.BigEndian.Uint64(r[65:73])) == e.Clock.Wall &&
		binary.BigEndian.Uint32(r[73:77]) == e.Clock.Logical {
		if epoch, w, err := varint.Uvarint(r[headerSize:], math.MaxUint64); err == nil && w == n-headerSize && epoch == e.Epoch {
			return r[:n:n]
		}
	}
	return header(e.Gathering, e.Author, e.Clock, e.Epoch)
}

// header encodes the fields before the sealed payload's length. It is also
// the additional data of the seal, so a payload cannot be moved to another
// envelope or epoch.
func header(g GatheringID, author IdentityID, c Clock, epoch uint64) []byte {
	h := make([]byte, headerSize, headerSize+2*binary.MaxVarintLen64)
	h[0] = EnvelopeVersion
	copy(h[1:33], g[:])
	copy(h[33:65], author[:])
	binary.BigEndian.PutUint64(h[65:73], uint64(c.Wall))
	binary.BigEndian.PutUint32(h[73:77], c.Logical)
	return binary.AppendUvarint(h, epoch)
}

// signEnvelope assembles an envelope from its header and sealed payload,
// tags it with the admission key and signs it.
func signEnvelope(s Signer, hdr, sealed []byte, admission *[32]byte) (*Envelope, error) {
	b := binary.AppendUvarint(hdr, uint64(len(sealed)))
	b = append(b, sealed...)
	b = appendTag(b, b, admission)
	b = append(b, ed25519.Sign(s.Key, b)...)
	if len(b) > MaxEnvelopeSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(b), MaxEnvelopeSize)
	}
	return DecodeEnvelope(b)
}
