package crdt

import (
	"crypto/sha512"
	"encoding/binary"
	"sync"

	"filippo.io/edwards25519"
)

// The batched signature check, written out rather than taken from
// ed25519consensus's BatchVerifier because three things it cannot do make
// up most of a batch's cost when few authors sign many operations:
//
//   - an author's key is decoded and checked (rule 1) once, not twice per
//     signature: a Verifier keeps the decoded keys it has seen;
//   - the author terms are merged: Σ z_i·k_i·A_i has one point per distinct
//     author, not one per signature, so the multi-scalar multiplication
//     has n + authors + 1 points instead of 2n + 1;
//   - R's canonical-encoding check reads the bytes instead of re-encoding
//     the point (which costs a field inversion).
//
// The equation is ed25519consensus's (ZIP-215, cofactored):
//
//	[8]( −(Σ z_i·S_i)·B + Σ z_i·R_i + Σ (z_i·k_i)·A_i ) = identity
//
// which holds for every good batch and, for a batch with a bad signature,
// only with probability 2⁻¹²⁷ over the z_i. The z_i are derived from a hash
// of the whole batch (every signature and every challenge, which commit to
// R, A, S and the message) instead of drawn at random, so that crdt stays
// free of randomness: whoever makes the signatures fixes them before the
// z_i exist, and finding a bad batch whose derived z_i cancel its errors is
// a 2¹²⁷ search. A failed batch is halved until its parts pass or are
// small, then falls back to the single check (Envelope.Verify), which names
// the bad ones; anything the batch's fast
// screens refuse is also judged by the single check, so the verdict on
// every envelope is Verify's.

// Verifier checks signatures in batches, remembering decoded author keys.
// It is safe for concurrent use; the zero value is ready.
type Verifier struct {
	mu   sync.Mutex
	keys map[IdentityID]*edwards25519.Point
}

// maxVerifierKeys bounds the remembered keys: past it they are forgotten
// at once (a gathering has far fewer authors; junk keys fail the door).
const maxVerifierKeys = 1 << 12

// VerifyBatch checks the signatures of envs and returns one error per
// envelope (nil where the signature is good), in the order given: the same
// verdicts as calling Verify on each.
func VerifyBatch(envs []*Envelope) []error {
	return new(Verifier).VerifyBatch(envs)
}

// key returns the decoded author key, checked against rule 1, or nil.
func (v *Verifier) key(a IdentityID) *edwards25519.Point {
	v.mu.Lock()
	p, ok := v.keys[a]
	v.mu.Unlock()
	if ok {
		return p
	}
	p = new(edwards25519.Point)
	if decodePoint(p, a[:]) != nil {
		return nil
	}
	v.mu.Lock()
	if v.keys == nil || len(v.keys) >= maxVerifierKeys {
		v.keys = make(map[IdentityID]*edwards25519.Point)
	}
	v.keys[a] = p
	v.mu.Unlock()
	return p
}

// VerifyBatch is the package-level VerifyBatch with v's remembered keys.
func (v *Verifier) VerifyBatch(envs []*Envelope) []error {
	n := len(envs)
	errs := make([]error, n)
	if n == 0 {
		return errs
	}
	rs := make([]edwards25519.Point, n)
	ss := make([]edwards25519.Scalar, n)
	ks := make([]edwards25519.Scalar, n)
	who := make([]int, n) // index into authors, or -1: judged alone
	var authors []*edwards25519.Point
	var names []IdentityID
	transcript := sha512.New()
	var digest [64]byte
	in := 0
	for i, e := range envs {
		who[i] = -1
		msg, sig := e.signed()
		a := v.key(e.Author)
		if a == nil || decodePoint(&rs[i], sig[:32]) != nil {
			errs[i] = e.Verify()
			continue
		}
		if _, err := ss[i].SetCanonicalBytes(sig[32:]); err != nil {
			errs[i] = e.Verify()
			continue
		}
		h := sha512.New()
		h.Write(sig[:32])
		h.Write(e.Author[:])
		h.Write(msg)
		h.Sum(digest[:0])
		if _, err := ks[i].SetUniformBytes(digest[:]); err != nil {
			errs[i] = e.Verify()
			continue
		}
		transcript.Write(sig)
		transcript.Write(digest[:])
		j := 0
		for j < len(names) && names[j] != e.Author {
			j++
		}
		if j == len(names) {
			names = append(names, e.Author)
			authors = append(authors, a)
		}
		who[i] = j
		in++
	}
	if in == 0 {
		return errs
	}
	seed := transcript.Sum(nil)

	scalars := make([]*edwards25519.Scalar, 0, 1+in+len(authors))
	points := make([]*edwards25519.Point, 0, 1+in+len(authors))
	coeffs := make([]edwards25519.Scalar, 1+in+len(authors))
	bCoeff := &coeffs[0]
	aCoeffs := coeffs[1 : 1+len(authors)]
	zs := coeffs[1+len(authors):]
	scalars = append(scalars, bCoeff)
	points = append(points, edwards25519.NewGeneratorPoint())
	for j := range authors {
		scalars = append(scalars, &aCoeffs[j])
		points = append(points, authors[j])
	}
	var block [64]byte
	var zb [32]byte
	var tk edwards25519.Scalar
	m := 0
	for i := range envs {
		if who[i] < 0 {
			continue
		}
		if m%4 == 0 {
			h := sha512.New()
			h.Write(seed)
			h.Write(binary.BigEndian.AppendUint32(nil, uint32(m/4)))
			h.Sum(block[:0])
		}
		copy(zb[:16], block[16*(m%4):])
		zb[0] |= 1 // never zero: a zero z_i would leave signature i unchecked
		z := &zs[m]
		if _, err := z.SetCanonicalBytes(zb[:]); err != nil {
			panic("crdt: a 128-bit scalar is canonical")
		}
		bCoeff.MultiplyAdd(z, &ss[i], bCoeff)
		tk.Multiply(z, &ks[i])
		aCoeffs[who[i]].Add(&aCoeffs[who[i]], &tk)
		scalars = append(scalars, z)
		points = append(points, &rs[i])
		m++
	}
	bCoeff.Negate(bCoeff)
	check := new(edwards25519.Point).VarTimeMultiScalarMult(scalars, points)
	check.MultByCofactor(check)
	if check.Equal(edwards25519.NewIdentityPoint()) == 1 {
		return errs
	}
	// Some signature in the batch is bad: halve what was in it until the
	// halves pass or are small enough to check one by one, so that one bad
	// signature among many costs a few batches, not a single check each.
	var rest []*Envelope
	var at []int
	for i, e := range envs {
		if who[i] >= 0 {
			rest = append(rest, e)
			at = append(at, i)
		}
	}
	if len(rest) <= minBisect {
		for k, e := range rest {
			errs[at[k]] = e.verifySignature()
		}
		return errs
	}
	half := len(rest) / 2
	for k, err := range append(v.VerifyBatch(rest[:half]), v.VerifyBatch(rest[half:])...) {
		errs[at[k]] = err
	}
	return errs
}

// minBisect is the size below which a failed batch is checked one by one.
const minBisect = 8

// decodePoint sets p to the point b encodes if b passes rule 1 (a canonical
// encoding of a point not of small order), as checkPoint decides, without
// re-encoding the point to compare.
func decodePoint(p *edwards25519.Point, b []byte) error {
	if len(b) != 32 {
		return errNotPoint
	}
	if _, err := p.SetBytes(b); err != nil {
		return errNotPoint
	}
	if !canonicalY(b) {
		return errNonCanonical
	}
	if new(edwards25519.Point).MultByCofactor(p).Equal(edwards25519.NewIdentityPoint()) == 1 {
		// Both points with x = 0 (y = ±1) are of small order, so a set
		// sign bit on x = 0, the other non-canonical form, ends here too.
		return errSmallOrder
	}
	return nil
}

// canonicalY reports whether the y coordinate of the encoding b (its low
// 255 bits) is below p = 2²⁵⁵ − 19.
func canonicalY(b []byte) bool {
	if b[31]&0x7f != 0x7f {
		return true
	}
	for i := 30; i > 0; i-- {
		if b[i] != 0xff {
			return true
		}
	}
	return b[0] < 0xed
}
