package crdt

import (
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
)

// OpID names an operation: the SHA-256 of its envelope encoding.
type OpID [32]byte

// IdentityID is an identity's ed25519 public key.
type IdentityID [32]byte

// GatheringID names a gathering. It is derived one way from the gathering's
// secret and founder, so it can be given to a hub without giving away the
// secret.
type GatheringID [32]byte

func (id OpID) String() string        { return hex.EncodeToString(id[:]) }
func (id IdentityID) String() string  { return hex.EncodeToString(id[:]) }
func (id GatheringID) String() string { return hex.EncodeToString(id[:]) }

// IsZero reports whether id is the zero value.
func (id OpID) IsZero() bool { return id == OpID{} }

// MarshalText and UnmarshalText make ids appear as hex strings in JSON.
func (id OpID) MarshalText() ([]byte, error)        { return hexText(id[:]) }
func (id IdentityID) MarshalText() ([]byte, error)  { return hexText(id[:]) }
func (id GatheringID) MarshalText() ([]byte, error) { return hexText(id[:]) }

func (id *OpID) UnmarshalText(b []byte) error        { return parseHex32((*[32]byte)(id), b) }
func (id *IdentityID) UnmarshalText(b []byte) error  { return parseHex32((*[32]byte)(id), b) }
func (id *GatheringID) UnmarshalText(b []byte) error { return parseHex32((*[32]byte)(id), b) }

// ParseOpID, ParseIdentityID and ParseGatheringID read the hex form.
func ParseOpID(s string) (OpID, error) {
	var id OpID
	return id, id.UnmarshalText([]byte(s))
}

func ParseIdentityID(s string) (IdentityID, error) {
	var id IdentityID
	return id, id.UnmarshalText([]byte(s))
}

func ParseGatheringID(s string) (GatheringID, error) {
	var id GatheringID
	return id, id.UnmarshalText([]byte(s))
}

func hexText(b []byte) ([]byte, error) {
	out := make([]byte, hex.EncodedLen(len(b)))
	hex.Encode(out, b)
	return out, nil
}

func parseHex32(dst *[32]byte, b []byte) error {
	if len(b) != 64 {
		return fmt.Errorf("%w: id must be 64 hex digits, got %d characters", ErrMalformed, len(b))
	}
	if _, err := hex.Decode(dst[:], b); err != nil {
		return fmt.Errorf("%w: id is not hex", ErrMalformed)
	}
	return nil
}

// Credentials are what an invite carries: the secret and the founder's
// identity. Everything else about a gathering's membership derives from them.
type Credentials struct {
	Secret  [32]byte
	Founder IdentityID
}

// Keys are one epoch's keys of a gathering, derived from Credentials: the
// gathering id (public, safe to give a hub), the admission key (given to
// hubs in a Ticket, so that they refuse non-members at the door), and the
// keys that seal payloads (known only to members).
//
// Each key has its own HKDF label, so that no key doubles as another: the
// AEAD key is not the key of the synthetic nonce's HMAC, and a hub that holds
// the admission key learns nothing of either.
//
// Keys are per epoch. Epoch 0's secret is the invite's; a rotation (issue
// 10) gives members the secret of the next epoch, from which DeriveEpoch
// makes that epoch's keys. The gathering id is derived from the first
// secret only and never changes.
type Keys struct {
	Gathering GatheringID
	Founder   IdentityID
	Epoch     uint64
	seal      [32]byte // XChaCha20-Poly1305 key
	nonce     [32]byte // HMAC key of the synthetic nonce
	admission [32]byte // HMAC key of the admission tag
}

// HKDF labels. The gathering id's label is the one of the first version, so
// ids stay what they were; the epoch keys are new with envelope version 2.
const (
	labelGathering = "convene/v1/gathering-id"
	labelSeal      = "convene/v2/seal"
	labelNonce     = "convene/v2/seal-nonce"
	labelAdmission = "convene/v2/admission"
)

// Derive computes a gathering's keys of epoch 0. The founder is mixed in, so
// an invite whose founder was changed names a different gathering.
func (c Credentials) Derive() Keys {
	var g GatheringID
	copy(g[:], hkdfKey(c.Secret, c.Founder[:], labelGathering))
	return DeriveEpoch(g, c.Founder, 0, c.Secret)
}

// DeriveEpoch computes the keys of one epoch of gathering g from that
// epoch's secret. The salt binds them to the gathering and the epoch, so two
// epochs never share a key, even given the same secret.
func DeriveEpoch(g GatheringID, founder IdentityID, epoch uint64, secret [32]byte) Keys {
	salt := binary.BigEndian.AppendUint64(append(make([]byte, 0, 40), g[:]...), epoch)
	k := Keys{Gathering: g, Founder: founder, Epoch: epoch}
	copy(k.seal[:], hkdfKey(secret, salt, labelSeal))
	copy(k.nonce[:], hkdfKey(secret, salt, labelNonce))
	copy(k.admission[:], hkdfKey(secret, salt, labelAdmission))
	return k
}

// Ticket is what a hub needs to serve this epoch of the gathering.
func (k Keys) Ticket() Ticket {
	return Ticket{Gathering: k.Gathering, Epoch: k.Epoch, Key: k.admission}
}

func hkdfKey(secret [32]byte, salt []byte, info string) []byte {
	out, err := hkdf.Key(sha256.New, secret[:], salt, info, 32)
	if err != nil {
		panic(err) // only for lengths hkdf cannot produce
	}
	return out
}

// Topic is the GossipSub topic of a gathering.
func (g GatheringID) Topic() string { return "/convene/v1/" + g.String() }

// Signer is an identity's key pair.
type Signer struct {
	ID  IdentityID
	Key ed25519.PrivateKey
}

// NewSigner wraps an ed25519 private key.
func NewSigner(key ed25519.PrivateKey) (Signer, error) {
	if len(key) != ed25519.PrivateKeySize {
		return Signer{}, errors.New("crdt: ed25519 private key has the wrong size")
	}
	var s Signer
	copy(s.ID[:], key.Public().(ed25519.PublicKey))
	s.Key = key
	return s, nil
}
