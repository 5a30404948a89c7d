package recon

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/convene/convene/internal/varint"
)

// Message encoding, version 1:
//
//	version  1 byte (1)
//	ranges   until the end of the message, each:
//	  mode     1 byte: 0 skip, 1 fingerprint, 2 id list, 3 id list diff
//	  payload  fingerprint: 16 bytes
//	           id list:      uvarint n, n items
//	           id list diff: uvarint n, n items (the sender has, the
//	                         receiver lacks), uvarint m, m bytes of bit
//	                         field over the receiver's id list for the same
//	                         range (bit i%8 of byte i/8 set: the sender
//	                         lacks item i; missing bytes are zero)
//	  upper    bound
//
// A range runs from the upper bound of the range before it (the zero bound
// for the first) to its own upper bound. Ranges after the last one are
// skipped. Walls are delta-encoded from the previous wall in the message,
// which never decreases since bounds and items ascend:
//
//	bound  uvarint d (0: infinity, else wall = previous wall + d - 1),
//	       uvarint logical, 1 byte p, p bytes of id prefix (the rest zero;
//	       the prefix does not end in a zero byte)
//	item   uvarint wall - previous wall, uvarint logical, 32 bytes id
//
// An empty message (the version alone) says "nothing more to ask".
const (
	Version = 1
	// MaxMessageSize bounds a message in either direction.
	MaxMessageSize = 512 << 10
	// MaxRanges bounds the ranges of one message.
	MaxRanges = 1 << 14
	// MaxItemsPerRange bounds the items of one id list or id list diff.
	MaxItemsPerRange = 4096
)

// ErrMalformed is returned for a message that does not decode.
var ErrMalformed = errors.New("recon: malformed message")

// ErrProtocol is returned for a message that decodes but does not fit the
// session (an answer to a question that was not asked, a session already
// over).
var ErrProtocol = errors.New("recon: protocol violation")

type mode byte

const (
	modeSkip mode = iota
	modeFingerprint
	modeIDList
	modeIDListDiff
)

const (
	maxItemLen  = binary.MaxVarintLen64 + binary.MaxVarintLen32 + 32
	maxBoundLen = binary.MaxVarintLen64 + binary.MaxVarintLen32 + 1 + 32
)

// rng is one decoded range.
type rng struct {
	mode  mode
	fp    Fingerprint
	keys  []key  // id list; id list diff: the items the sender has
	bits  []byte // id list diff
	upper Bound
}

// asks reports whether the range needs an answer.
func (r *rng) asks() bool { return r.mode == modeFingerprint || r.mode == modeIDList }

// encoder builds a message. Ranges must be added in ascending order; gaps
// between them become skip ranges, and a trailing skip is left out.
type encoder struct {
	buf      []byte
	prevWall uint64
	upper    Bound // upper bound of the last range written
	asks     int   // fingerprint and id list ranges
	content  int   // ranges other than skips
}

func newEncoder() *encoder { return &encoder{buf: []byte{Version}} }

func (e *encoder) bound(b *Bound) {
	if b.inf {
		e.buf = append(e.buf, 0)
		return
	}
	w := b.k.wall()
	e.buf = binary.AppendUvarint(e.buf, w-e.prevWall+1)
	e.prevWall = w
	e.buf = binary.AppendUvarint(e.buf, uint64(b.k.logical()))
	p := keyLen
	for p > 12 && b.k[p-1] == 0 {
		p--
	}
	e.buf = append(e.buf, byte(p-12))
	e.buf = append(e.buf, b.k[12:p]...)
}

func (e *encoder) item(k *key) {
	w := k.wall()
	e.buf = binary.AppendUvarint(e.buf, w-e.prevWall)
	e.prevWall = w
	e.buf = binary.AppendUvarint(e.buf, uint64(k.logical()))
	e.buf = append(e.buf, k[12:]...)
}

// open starts a range of mode m over [lower, ...), after a skip range if
// lower is past the last range written.
func (e *encoder) open(lower *Bound, m mode) {
	if cmpBound(&e.upper, lower) < 0 {
		e.buf = append(e.buf, byte(modeSkip))
		e.bound(lower)
	}
	e.buf = append(e.buf, byte(m))
	e.content++
	if m == modeFingerprint || m == modeIDList {
		e.asks++
	}
}

func (e *encoder) close(upper *Bound) {
	e.bound(upper)
	e.upper = *upper
}

func (e *encoder) fingerprint(lower, upper *Bound, fp Fingerprint) {
	e.open(lower, modeFingerprint)
	e.buf = append(e.buf, fp[:]...)
	e.close(upper)
}

func (e *encoder) idList(lower, upper *Bound, keys []key) {
	e.open(lower, modeIDList)
	e.buf = binary.AppendUvarint(e.buf, uint64(len(keys)))
	for i := range keys {
		e.item(&keys[i])
	}
	e.close(upper)
}

func (e *encoder) idListDiff(lower, upper *Bound, keys []key, bits []byte) {
	e.open(lower, modeIDListDiff)
	e.buf = binary.AppendUvarint(e.buf, uint64(len(keys)))
	for i := range keys {
		e.item(&keys[i])
	}
	e.buf = binary.AppendUvarint(e.buf, uint64(len(bits)))
	e.buf = append(e.buf, bits...)
	e.close(upper)
}

// decoder reads a message strictly: every bound above the one before it,
// every item inside its range and above the one before it, minimal varints,
// nothing left over.
type decoder struct {
	b        []byte
	off      int
	prevWall uint64
}

func (d *decoder) fail(format string, args ...any) error {
	return fmt.Errorf("%w: at byte %d: %s", ErrMalformed, d.off, fmt.Sprintf(format, args...))
}

func (d *decoder) uvarint(what string, max uint64) (uint64, error) {
	v, n, err := varint.Uvarint(d.b[d.off:], max)
	if err != nil {
		return 0, d.fail("%s: %v", what, err)
	}
	d.off += n
	return v, nil
}

func (d *decoder) take(n int, what string) ([]byte, error) {
	if len(d.b)-d.off < n {
		return nil, d.fail("%s is cut short", what)
	}
	b := d.b[d.off : d.off+n]
	d.off += n
	return b, nil
}

// wall reads a wall delta (offset by base) and returns the new wall.
func (d *decoder) wall(delta uint64) (uint64, error) {
	if delta > math.MaxInt64-d.prevWall {
		return 0, d.fail("clock overflows")
	}
	d.prevWall += delta
	return d.prevWall, nil
}

func (d *decoder) clockInto(k *key, delta uint64) error {
	w, err := d.wall(delta)
	if err != nil {
		return err
	}
	l, err := d.uvarint("logical clock", math.MaxUint32)
	if err != nil {
		return err
	}
	binary.BigEndian.PutUint64(k[0:8], w)
	binary.BigEndian.PutUint32(k[8:12], uint32(l))
	return nil
}

func (d *decoder) bound() (Bound, error) {
	var b Bound
	dw, err := d.uvarint("bound", math.MaxUint64)
	if err != nil {
		return b, err
	}
	if dw == 0 {
		b.inf = true
		return b, nil
	}
	if err := d.clockInto(&b.k, dw-1); err != nil {
		return b, err
	}
	p, err := d.take(1, "bound prefix length")
	if err != nil {
		return b, err
	}
	if p[0] > 32 {
		return b, d.fail("bound prefix length %d", p[0])
	}
	id, err := d.take(int(p[0]), "bound prefix")
	if err != nil {
		return b, err
	}
	if len(id) > 0 && id[len(id)-1] == 0 {
		return b, d.fail("bound prefix ends in a zero byte")
	}
	copy(b.k[12:], id)
	return b, nil
}

// items reads a counted list of items in [lower, ...), ascending.
func (d *decoder) items(lower *Bound) ([]key, error) {
	n, err := d.uvarint("item count", MaxItemsPerRange)
	if err != nil {
		return nil, err
	}
	// Every item takes at least 34 bytes: do not trust n further than that.
	if n > uint64(len(d.b)-d.off)/34 {
		return nil, d.fail("%d items cannot fit in what is left", n)
	}
	keys := make([]key, n)
	for i := range keys {
		dw, err := d.uvarint("item clock", math.MaxUint64)
		if err != nil {
			return nil, err
		}
		if err := d.clockInto(&keys[i], dw); err != nil {
			return nil, err
		}
		id, err := d.take(32, "item id")
		if err != nil {
			return nil, err
		}
		copy(keys[i][12:], id)
		if i == 0 && cmpKey(&keys[0], &lower.k) < 0 {
			return nil, d.fail("item below its range")
		}
		if i > 0 && cmpKey(&keys[i-1], &keys[i]) >= 0 {
			return nil, d.fail("items out of order")
		}
	}
	return keys, nil
}

// decodeMessage parses a message into its ranges.
func decodeMessage(b []byte) ([]rng, error) {
	if len(b) > MaxMessageSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrMalformed, len(b), MaxMessageSize)
	}
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrMalformed)
	}
	if b[0] != Version {
		return nil, fmt.Errorf("%w: unknown version %d", ErrMalformed, b[0])
	}
	d := &decoder{b: b, off: 1}
	var out []rng
	var lower Bound
	for d.off < len(b) {
		if len(out) == MaxRanges {
			return nil, d.fail("more than %d ranges", MaxRanges)
		}
		if lower.inf {
			return nil, d.fail("range after infinity")
		}
		var r rng
		r.mode = mode(b[d.off])
		d.off++
		switch r.mode {
		case modeSkip:
		case modeFingerprint:
			fp, err := d.take(FingerprintSize, "fingerprint")
			if err != nil {
				return nil, err
			}
			copy(r.fp[:], fp)
		case modeIDList, modeIDListDiff:
			keys, err := d.items(&lower)
			if err != nil {
				return nil, err
			}
			r.keys = keys
			if r.mode == modeIDListDiff {
				n, err := d.uvarint("bit field length", (MaxItemsPerRange+7)/8)
				if err != nil {
					return nil, err
				}
				bits, err := d.take(int(n), "bit field")
				if err != nil {
					return nil, err
				}
				r.bits = bits
			}
		default:
			return nil, d.fail("unknown mode %d", r.mode)
		}
		upper, err := d.bound()
		if err != nil {
			return nil, err
		}
		if cmpBound(&upper, &lower) <= 0 {
			return nil, d.fail("bound %s not above %s", upper, lower)
		}
		if n := len(r.keys); n > 0 && !upper.before(&r.keys[n-1]) {
			return nil, d.fail("item above its range")
		}
		r.upper = upper
		out = append(out, r)
		lower = upper
	}
	return out, nil
}
