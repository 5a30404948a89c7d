package crdt

import (
	"errors"
	"fmt"
	"slices"

	"golang.org/x/crypto/chacha20"
	"golang.org/x/crypto/chacha20poly1305"
)

// Disclosure lets anyone read one sealed payload without the gathering's
// keys, so that a ratified document can be checked on paper, by someone
// outside the gathering, against the very operation that ratified it.
//
// XChaCha20-Poly1305 seals under the subkey HChaCha20(key, nonce[:16]) with
// ChaCha20-Poly1305 and the nonce 0⁴ ‖ nonce[16:24]. The subkey is a
// pseudo-random function of the epoch key and this payload's nonce (itself
// synthetic, seal.go), so disclosing it opens this one payload and tells
// nothing of the epoch key or of any other payload. The signature covers
// the envelope and so the ciphertext and its Poly1305 tag; opening that
// ciphertext under the disclosed subkey is what ties the readable body to
// the signature. (Finding a second subkey under which the same ciphertext
// and tag open to another body takes a Poly1305 forgery.)
type Disclosure [32]byte

// ErrTampered: a ratified document's text is not the one its ratification
// fixed.
var ErrTampered = errors.New("the document is not the one its ratification fixed")

// Disclose returns the disclosure of e's payload, which k must open.
func (k Keys) Disclose(e *Envelope) (Disclosure, error) {
	if _, err := k.Open(e); err != nil {
		return Disclosure{}, err
	}
	sub, err := chacha20.HChaCha20(k.seal[:], e.Sealed[:16])
	if err != nil {
		return Disclosure{}, err
	}
	return Disclosure(sub), nil
}

// Disclose returns the disclosure of e's payload under whichever key of its
// epoch opens it.
func (r *Keyring) Disclose(e *Envelope) (Disclosure, error) {
	r.mu.RLock()
	list := slices.Clone(r.epochs[e.Epoch])
	r.mu.RUnlock()
	err := fmt.Errorf("%w: epoch %d of operation %s", ErrEpoch, e.Epoch, e.ID())
	for _, k := range list {
		var d Disclosure
		if d, err = k.Disclose(e); err == nil {
			return d, nil
		}
	}
	return Disclosure{}, err
}

// OpenDisclosed opens e's payload with its disclosure. It checks neither
// the admission tag nor the signature (see Envelope.Verify).
func OpenDisclosed(e *Envelope, d Disclosure) (Op, error) {
	aead, err := chacha20poly1305.New(d[:])
	if err != nil {
		return Op{}, err
	}
	var nonce [chacha20poly1305.NonceSize]byte
	copy(nonce[4:], e.Sealed[16:chacha20poly1305.NonceSizeX])
	padded, err := aead.Open(nil, nonce[:], e.Sealed[chacha20poly1305.NonceSizeX:], e.aad())
	if err != nil {
		return Op{}, fmt.Errorf("%w: operation %s: the disclosure does not open it", ErrSealed, e.ID())
	}
	return openedOp(e, padded)
}

// CheckRatified checks a ratified document with no keys and no state: raw
// must be a well-signed ratification (the one signature rule set) that d
// opens, naming t's session, title, revisions and endorsements, with the
// digest of t. Errors wrap ErrMalformed, ErrSignature, ErrSealed or
// ErrTampered.
func CheckRatified(raw []byte, d Disclosure, t RatifiedText) (*Envelope, *RatificationBody, error) {
	e, err := DecodeEnvelope(raw)
	if err != nil {
		return nil, nil, err
	}
	if err := e.Verify(); err != nil {
		return nil, nil, err
	}
	op, err := OpenDisclosed(e, d)
	if err != nil {
		return nil, nil, err
	}
	b, ok := op.Body.(*RatificationBody)
	if !ok {
		return nil, nil, fmt.Errorf("%w: operation %s is not a ratification (kind %d)", ErrMalformed, e.ID(), op.Body.Kind())
	}
	if b.Session != t.Session || b.Title != t.Title || len(b.Entries) != len(t.Proposals) {
		return nil, nil, fmt.Errorf("%w: session, title or number of proposals differ", ErrTampered)
	}
	for i, en := range b.Entries {
		p := t.Proposals[i]
		if en.Revision != p.Revision || len(en.EndorsedBy) != len(p.EndorsedBy) {
			return nil, nil, fmt.Errorf("%w: proposal %d: revision or endorsements differ", ErrTampered, i+1)
		}
		for j, g := range en.EndorsedBy {
			if p.EndorsedBy[j].ID != g {
				return nil, nil, fmt.Errorf("%w: proposal %d: endorsements differ", ErrTampered, i+1)
			}
		}
	}
	if got := RatifiedDigest(t); got != b.Digest {
		return nil, nil, fmt.Errorf("%w: its digest is %s, the ratification's %s", ErrTampered, got, b.Digest)
	}
	return e, b, nil
}
