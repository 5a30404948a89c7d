// Package varint reads the unsigned varints of convene's encodings
// (operations, envelopes, reconciliation messages, batches, bundles,
// invites): only in their one shortest encoding, so that every message has
// exactly one encoding, and only up to a limit the caller states, so that
// a length from the wire never sizes an allocation unchecked.
//
// It is pure (no I/O of its own, no clock, no randomness, no goroutines),
// which is what lets the pure crdt package import it.
package varint

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

var (
	// ErrBad is a varint that is cut short, overflows 64 bits or is not
	// in its shortest encoding.
	ErrBad = errors.New("bad or non-minimal varint")
	// ErrLimit is a varint above the caller's limit.
	ErrLimit = errors.New("varint over its limit")
)

// Uvarint decodes the uvarint at the start of b and returns it and its
// length in bytes.
func Uvarint(b []byte, limit uint64) (uint64, int, error) {
	v, n := binary.Uvarint(b)
	if n <= 0 || n != Len(v) {
		return 0, 0, ErrBad
	}
	if v > limit {
		return 0, 0, fmt.Errorf("%w: %d > %d", ErrLimit, v, limit)
	}
	return v, n, nil
}

// Read reads one uvarint from r. An r that ends before the first byte
// gives io.EOF; one that ends inside the varint, io.ErrUnexpectedEOF.
func Read(r io.ByteReader, limit uint64) (uint64, error) {
	var buf [binary.MaxVarintLen64]byte
	for i := range buf {
		c, err := r.ReadByte()
		if err != nil {
			if i > 0 && errors.Is(err, io.EOF) {
				return 0, io.ErrUnexpectedEOF
			}
			return 0, err
		}
		buf[i] = c
		if c < 0x80 {
			v, _, err := Uvarint(buf[:i+1], limit)
			return v, err
		}
	}
	return 0, ErrBad
}

// Len is the length of v's encoding.
func Len(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}
