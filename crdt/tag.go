package crdt

import (
	"crypto/sha256"
	"hash"
	"sync"
)

// tagger computes admission tags, HMAC-SHA256 as crypto/hmac computes it,
// with one SHA-256 state it resets. crypto/hmac makes an HMAC and two
// SHA-256 states for each key; a tag is checked for every operation a
// receiver admits, and those were a fifteenth of a heal's allocation.
// TestTaggerIsHMAC holds it to crypto/hmac.
type tagger struct {
	h   hash.Hash
	sum []byte // room for one digest
}

func newTagger() *tagger {
	return &tagger{h: sha256.New(), sum: make([]byte, 0, sha256.Size)}
}

// mac is HMAC-SHA256(key, msg), valid until the next call. The key is
// shorter than SHA-256's block, so it is used zero-padded, unhashed.
func (t *tagger) mac(key *[32]byte, msg []byte) []byte {
	var pad [sha256.BlockSize]byte
	for i := range pad {
		pad[i] = 0x36
	}
	for i, b := range key {
		pad[i] ^= b
	}
	t.h.Reset()
	t.h.Write(pad[:])
	t.h.Write(msg)
	inner := t.h.Sum(t.sum[:0])
	for i := range pad {
		pad[i] ^= 0x36 ^ 0x5c
	}
	t.h.Reset()
	t.h.Write(pad[:])
	t.h.Write(inner)
	return t.h.Sum(t.sum[:0])
}

// taggers is a pool of taggers, for a receiver that admits from several
// goroutines: a member's Keyring, a hub's Tickets.
type taggers struct{ p sync.Pool }

// tagPooler is an Admitter that keeps taggers for CheckAdmission; the
// others (one epoch's Keys, a Ticket) make one per check.
type tagPooler interface {
	tagPool() *taggers
}

func (ts *taggers) get() *tagger {
	if t, ok := ts.p.Get().(*tagger); ok {
		return t
	}
	return newTagger()
}

func (ts *taggers) put(t *tagger) { ts.p.Put(t) }
