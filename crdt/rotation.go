package crdt

import (
	"bytes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"fmt"
	"slices"

	"filippo.io/edwards25519"
	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/crypto/nacl/box"
)

// Rotation (issue 10): a facilitator retires the invite by giving every
// remaining member the secret of the next epoch, each share sealed to that
// member's encryption key, inside an operation delivered by the normal
// sync. Identities have no published encryption key: it is derived from
// the ed25519 key, as age does for SSH ed25519 keys, so no operation is
// needed to publish one.

const (
	// MaxShares is the most members one rotation operation carries. A share
	// is 80 bytes (identity and box); 340 of them with the fixed fields pad
	// to a 28 KiB bucket (seal.go), under MaxEnvelopeSize once sealed. A
	// larger gathering is rotated by several operations of the same epoch
	// and secret (the same Commit), each carrying a part of the members.
	MaxShares = 340
	shareBox  = 32 + box.Overhead
	nextBox   = 32 + chacha20poly1305.Overhead

	labelCommit = "convene/v2/rotation-commit"
	labelNext   = "convene/v2/next-ticket"
	labelShare  = "convene/v2/rotation-share"
)

// Share is the next epoch's secret sealed to one member.
type Share struct {
	To  IdentityID     `json:"to"`
	Box [shareBox]byte `json:"-"`
}

// RotationBody starts epoch Epoch. Commit names its secret (a one-way
// digest), so that the parts of one rotation are recognized as one and two
// facilitators' concurrent rotations as two. Next is the next epoch's
// admission key sealed under the current one, for hubs.
type RotationBody struct {
	Epoch  uint64        `json:"epoch"`
	Commit [16]byte      `json:"-"`
	Next   [nextBox]byte `json:"-"`
	Shares []Share       `json:"shares"` // sorted by To, distinct
}

func (*RotationBody) Kind() Kind { return KindRotation }

func (b *RotationBody) validate() error {
	if b.Epoch == 0 {
		return invalid("a rotation names an epoch after 0")
	}
	if len(b.Shares) == 0 || len(b.Shares) > MaxShares {
		return invalid("a rotation carries 1 to %d shares", MaxShares)
	}
	for i := 1; i < len(b.Shares); i++ {
		if bytes.Compare(b.Shares[i-1].To[:], b.Shares[i].To[:]) >= 0 {
			return invalid("shares must be sorted by identity and distinct")
		}
	}
	return nil
}

func (b *RotationBody) encode(w *writer) {
	w.uvarint(b.Epoch)
	w.b = append(w.b, b.Commit[:]...)
	w.b = append(w.b, b.Next[:]...)
	w.uvarint(uint64(len(b.Shares)))
	for _, s := range b.Shares {
		w.id(s.To)
		w.b = append(w.b, s.Box[:]...)
	}
}

func (b *RotationBody) decode(r *reader) {
	b.Epoch = r.uvarint()
	copy(b.Commit[:], r.take(len(b.Commit)))
	copy(b.Next[:], r.take(len(b.Next)))
	n := r.count(MaxShares, 32+shareBox)
	b.Shares = make([]Share, n)
	for i := range b.Shares {
		b.Shares[i].To = r.id()
		copy(b.Shares[i].Box[:], r.take(shareBox))
	}
}

// BoxKey is the X25519 private key of a signer: the clamped scalar of its
// ed25519 key (the first half of the seed's SHA-512), the one the ed25519
// public key is a multiple of.
func (s Signer) BoxKey() [32]byte {
	h := sha512.Sum512(s.Key.Seed())
	var k [32]byte
	copy(k[:], h[:32])
	return k
}

// BoxPublic is the X25519 public key of an identity: the Montgomery form of
// its ed25519 point.
func (id IdentityID) BoxPublic() ([32]byte, error) {
	var out [32]byte
	p, err := new(edwards25519.Point).SetBytes(id[:])
	if err != nil {
		return out, fmt.Errorf("%w: identity %s is not a curve point", ErrInvalid, id)
	}
	copy(out[:], p.BytesMontgomery())
	return out, nil
}

// Rotate makes the bodies of a rotation from epoch k.Epoch to the next,
// giving secret to each of members (the author's node gives it every
// identity it knows that is not removed, itself included). secret must be
// fresh randomness, drawn by the caller: crdt draws none. The boxes are
// static-static (author to member) with a nonce derived from the commit and
// the member, so that they are a pure function and no nonce repeats under
// one pair of keys unless the secret does.
func (k Keys) Rotate(s Signer, secret [32]byte, members []IdentityID) ([]*RotationBody, error) {
	ids := slices.Clone(members)
	slices.SortFunc(ids, func(a, b IdentityID) int { return bytes.Compare(a[:], b[:]) })
	ids = slices.Compact(ids)
	if len(ids) == 0 {
		return nil, invalid("a rotation needs at least one member")
	}
	next := DeriveEpoch(k.Gathering, k.Founder, k.Epoch+1, secret)
	commit := rotationCommit(next, secret)
	sealedNext := k.sealNext(commit, next.admission)
	priv := s.BoxKey()
	var out []*RotationBody
	for len(ids) > 0 {
		part := ids[:min(len(ids), MaxShares)]
		ids = ids[len(part):]
		b := &RotationBody{Epoch: next.Epoch, Commit: commit, Next: sealedNext, Shares: make([]Share, len(part))}
		for i, id := range part {
			pub, err := id.BoxPublic()
			if err != nil {
				return nil, err
			}
			nonce := commitNonce(commit, id, next.Epoch)
			b.Shares[i].To = id
			copy(b.Shares[i].Box[:], box.Seal(nil, secret[:], &nonce, &pub, &priv))
		}
		out = append(out, b)
	}
	return out, nil
}

// OpenShare returns the secret and keys of the epoch b starts, if it
// carries a share for s; author is the rotation operation's author, and cur
// the keys of any epoch of the gathering. ok is false when b has no share
// for s; an error means the share does not open or does not match the
// commit (a bad rotation).
func (b *RotationBody) OpenShare(s Signer, author IdentityID, cur Keys) (secret [32]byte, next Keys, ok bool, err error) {
	i, found := slices.BinarySearchFunc(b.Shares, s.ID, func(x Share, id IdentityID) int { return bytes.Compare(x.To[:], id[:]) })
	if !found {
		return secret, Keys{}, false, nil
	}
	pub, err := author.BoxPublic()
	if err != nil {
		return secret, Keys{}, false, err
	}
	priv := s.BoxKey()
	nonce := commitNonce(b.Commit, s.ID, b.Epoch)
	plain, opened := box.Open(nil, b.Shares[i].Box[:], &nonce, &pub, &priv)
	if !opened {
		return secret, Keys{}, true, fmt.Errorf("%w: rotation share for %s does not open", ErrSealed, s.ID)
	}
	copy(secret[:], plain)
	next = DeriveEpoch(cur.Gathering, cur.Founder, b.Epoch, secret)
	if c := rotationCommit(next, secret); !hmac.Equal(b.Commit[:], c[:]) {
		return [32]byte{}, Keys{}, true, fmt.Errorf("%w: rotation share for %s does not match its commit", ErrInvalid, s.ID)
	}
	return secret, next, true, nil
}

func (k Keys) sealNext(commit [16]byte, admission [32]byte) [nextBox]byte {
	aead := nextAEAD(k.admission)
	var out [nextBox]byte
	copy(out[:], aead.Seal(nil, nextNonce(commit), admission[:], nil))
	return out
}

// nextAEAD is the AEAD that seals the next admission key under the
// current one.
func nextAEAD(admission [32]byte) cipher.AEAD {
	aead, err := chacha20poly1305.NewX(hkdfKey(admission, nil, labelNext))
	if err != nil {
		panic(err) // the key has the right size
	}
	return aead
}

// rotationCommit names a rotation's secret without revealing it.
func rotationCommit(next Keys, secret [32]byte) [16]byte {
	salt := binary.BigEndian.AppendUint64(append([]byte{}, next.Gathering[:]...), next.Epoch)
	var c [16]byte
	copy(c[:], hkdfKey(secret, salt, labelCommit))
	return c
}

// commitNonce is the nonce of a member's share. It derives from the commit
// (which differs for every secret), the member and the epoch, so a nonce
// repeats under one pair of keys only if a secret does.
func commitNonce(commit [16]byte, to IdentityID, epoch uint64) [24]byte {
	mac := hmac.New(sha256.New, []byte(labelShare))
	mac.Write(commit[:])
	mac.Write(to[:])
	mac.Write(binary.BigEndian.AppendUint64(nil, epoch))
	var n [24]byte
	copy(n[:], mac.Sum(nil))
	return n
}

// nextNonce is the nonce of the sealed next admission key; the commit is
// unique per secret, so concurrent rotations never share one.
func nextNonce(commit [16]byte) []byte {
	n := sha256.Sum256(append([]byte(labelNext), commit[:]...))
	return n[:chacha20poly1305.NonceSizeX]
}
