// Package recon implements range-based set reconciliation of operation keys
// (after Aljoscha Meyer's "Range-Based Set Reconciliation" and the Negentropy
// protocol). Two peers compare fingerprints of ranges of their ordered sets,
// split the ranges that differ and exchange id lists once ranges are small,
// so the bytes exchanged track the size of the difference rather than of the
// history, and two peers in sync settle in one round trip.
//
// The package is pure: no I/O, no goroutines, no clocks. node/store keeps an
// Index filled; node/mesh carries the messages of a Reconciler over a stream.
package recon

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/bits"

	"github.com/convene/convene/crdt"
)

// Item is one operation as reconciliation sees it. Items are ordered by
// clock, then by id bytes. Clock.Wall must not be negative (decoded
// envelopes guarantee this).
type Item struct {
	Clock crdt.Clock
	ID    crdt.OpID
}

// Compare orders two items: -1, 0 or +1.
func (a Item) Compare(b Item) int {
	if c := a.Clock.Compare(b.Clock); c != 0 {
		return c
	}
	return bytes.Compare(a.ID[:], b.ID[:])
}

func (a Item) String() string { return a.Clock.String() + "/" + a.ID.String()[:16] }

// keyLen is the size of a packed item: wall and logical big-endian, then the
// id, so that byte order is item order and an item costs 44 bytes, not the
// 48 of the padded struct.
const keyLen = 8 + 4 + 32

type key [keyLen]byte

func keyOf(it Item) key {
	if it.Clock.Wall < 0 {
		panic(fmt.Sprintf("recon: item %s has a negative clock", it))
	}
	var k key
	binary.BigEndian.PutUint64(k[0:8], uint64(it.Clock.Wall))
	binary.BigEndian.PutUint32(k[8:12], it.Clock.Logical)
	copy(k[12:], it.ID[:])
	return k
}

func (k *key) item() Item {
	var it Item
	it.Clock.Wall = int64(binary.BigEndian.Uint64(k[0:8]))
	it.Clock.Logical = binary.BigEndian.Uint32(k[8:12])
	copy(it.ID[:], k[12:])
	return it
}

func (k *key) wall() uint64    { return binary.BigEndian.Uint64(k[0:8]) }
func (k *key) logical() uint32 { return binary.BigEndian.Uint32(k[8:12]) }

// cmpKey compares keys eight bytes at a time; most comparisons end at the
// wall clock.
func cmpKey(a, b *key) int {
	for i := 0; i < 40; i += 8 {
		x, y := binary.BigEndian.Uint64(a[i:]), binary.BigEndian.Uint64(b[i:])
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	x, y := binary.BigEndian.Uint32(a[40:]), binary.BigEndian.Uint32(b[40:])
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// Bound is a position in the order of items: every item sorts either before
// it or at or after it. The zero Bound sorts before every item; Infinity
// sorts after every item.
type Bound struct {
	k   key
	inf bool
}

// BoundAt is the bound at it: it and later items are at or after it.
func BoundAt(it Item) Bound { return Bound{k: keyOf(it)} }

// Infinity is the bound after every item.
func Infinity() Bound { return Bound{inf: true} }

func (b Bound) String() string {
	if b.inf {
		return "∞"
	}
	return b.k.item().String()
}

// cmpBound orders bounds.
func cmpBound(a, b *Bound) int {
	switch {
	case a.inf && b.inf:
		return 0
	case a.inf:
		return 1
	case b.inf:
		return -1
	}
	return cmpKey(&a.k, &b.k)
}

// before reports whether the item with key k sorts before b.
func (b *Bound) before(k *key) bool { return b.inf || cmpKey(k, &b.k) < 0 }

// boundBetween is the shortest bound above a and at or below b (a < b): the
// clock of b and just enough of b's id to separate it from a.
func boundBetween(a, b *key) Bound {
	var bd Bound
	copy(bd.k[:12], b[:12])
	if !bytes.Equal(a[:12], b[:12]) {
		return bd
	}
	p := 12
	for p < keyLen && a[p] == b[p] {
		p++
	}
	copy(bd.k[12:p+1], b[12:p+1])
	return bd
}

// sum is a sum of ids, read as little-endian 256-bit integers, mod 2^256.
type sum [4]uint64

func (s *sum) add(k *key) {
	var c uint64
	s[0], c = bits.Add64(s[0], binary.LittleEndian.Uint64(k[12:20]), 0)
	s[1], c = bits.Add64(s[1], binary.LittleEndian.Uint64(k[20:28]), c)
	s[2], c = bits.Add64(s[2], binary.LittleEndian.Uint64(k[28:36]), c)
	s[3], _ = bits.Add64(s[3], binary.LittleEndian.Uint64(k[36:44]), c)
}

func (s *sum) sub(k *key) {
	var c uint64
	s[0], c = bits.Sub64(s[0], binary.LittleEndian.Uint64(k[12:20]), 0)
	s[1], c = bits.Sub64(s[1], binary.LittleEndian.Uint64(k[20:28]), c)
	s[2], c = bits.Sub64(s[2], binary.LittleEndian.Uint64(k[28:36]), c)
	s[3], _ = bits.Sub64(s[3], binary.LittleEndian.Uint64(k[36:44]), c)
}

func (s *sum) addSum(t *sum) {
	var c uint64
	s[0], c = bits.Add64(s[0], t[0], 0)
	s[1], c = bits.Add64(s[1], t[1], c)
	s[2], c = bits.Add64(s[2], t[2], c)
	s[3], _ = bits.Add64(s[3], t[3], c)
}

// FingerprintSize is the size of a range fingerprint.
const FingerprintSize = 16

// Fingerprint summarises a range of items: SHA-256 of the sum of the ids
// mod 2^256 and the count, truncated. Unlike an XOR it cannot be matched by
// cancelling ids out.
type Fingerprint [FingerprintSize]byte

func (f Fingerprint) String() string { return hex.EncodeToString(f[:]) }

func (s *sum) fingerprint(n int) Fingerprint {
	var buf [32 + binary.MaxVarintLen64]byte
	for i, w := range s {
		binary.LittleEndian.PutUint64(buf[8*i:], w)
	}
	l := binary.PutUvarint(buf[32:], uint64(n))
	h := sha256.Sum256(buf[:32+l])
	var f Fingerprint
	copy(f[:], h[:FingerprintSize])
	return f
}
