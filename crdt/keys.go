package crdt

import (
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/sha256"
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

// Keys are derived from Credentials: the gathering id (public, safe to give a
// hub) and the key that seals operation payloads (known only to members).
type Keys struct {
	Gathering GatheringID
	Founder   IdentityID
	seal      [32]byte
}

// Derive computes a gathering's keys. The founder is mixed in, so an invite
// whose founder was changed names a different gathering.
func (c Credentials) Derive() Keys {
	k := Keys{Founder: c.Founder}
	copy(k.Gathering[:], derive(c, "convene/v1/gathering-id"))
	copy(k.seal[:], derive(c, "convene/v1/seal"))
	return k
}

func derive(c Credentials, info string) []byte {
	out, err := hkdf.Key(sha256.New, c.Secret[:], c.Founder[:], info, 32)
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
