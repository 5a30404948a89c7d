package export

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"

	"github.com/klauspost/compress/zstd"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/internal/varint"
)

const (
	bundleMagic = "convene-bundle\n"
	// BundleVersion is the bundle format this package writes and reads.
	BundleVersion = 1
	// DefaultMaxBundle bounds the decompressed size of a bundle that
	// ReadBundle accepts when the caller gives no limit, and of a bundle
	// WriteBundle writes.
	DefaultMaxBundle = 1 << 30

	bundleHeaderLen  = len(bundleMagic) + 1 + 32 + 12
	bundleTrailerLen = 8 + sha256.Size

	// zstdWindow is the encoder's window; the decoder refuses frames that
	// ask for more than zstdMaxWindow, so a hostile bundle cannot make it
	// allocate much.
	zstdWindow    = 4 << 20
	zstdMaxWindow = 16 << 20
)

// ErrBadBundle is wrapped by every error ReadBundle returns about the
// file's content (as opposed to failing to read it).
var ErrBadBundle = errors.New("bad bundle")

// WriteBundle writes a bundle of gathering g holding the operations with a
// clock not before since (the zero Clock: all of them). iterate must call
// fn with every stored envelope encoding of g, in any order; operations
// before since are skipped here, so iterate may simply walk the whole log.
// An envelope that does not decode or belongs to another gathering is an
// error: it means the store is corrupt.
func WriteBundle(w io.Writer, g crdt.GatheringID, since crdt.Clock, iterate func(fn func(raw []byte) error) error) error {
	h := sha256.New()
	mw := io.MultiWriter(w, h)
	if _, err := mw.Write(bundleHeader(g, since)); err != nil {
		return fmt.Errorf("write bundle: %w", err)
	}
	enc, err := zstd.NewWriter(mw,
		zstd.WithEncoderLevel(zstd.SpeedDefault),
		zstd.WithWindowSize(zstdWindow),
		zstd.WithEncoderConcurrency(1))
	if err != nil {
		return fmt.Errorf("write bundle: %w", err)
	}
	var (
		count uint64
		total int64
		pre   [binary.MaxVarintLen64]byte
	)
	err = iterate(func(raw []byte) error {
		e, err := crdt.DecodeEnvelope(raw)
		if err != nil {
			return fmt.Errorf("operation %d: %w", count, err)
		}
		if e.Gathering != g {
			return fmt.Errorf("operation %s: %w: %s", e.ID(), crdt.ErrForeign, e.Gathering)
		}
		if e.Clock.Less(since) {
			return nil
		}
		n := binary.PutUvarint(pre[:], uint64(len(raw)))
		if total += int64(n + len(raw)); total > DefaultMaxBundle {
			return fmt.Errorf("more than %d bytes of operations; give a later since point", DefaultMaxBundle)
		}
		if _, err := enc.Write(pre[:n]); err != nil {
			return err
		}
		if _, err := enc.Write(raw); err != nil {
			return err
		}
		count++
		return nil
	})
	if err != nil {
		enc.Close()
		return fmt.Errorf("write bundle: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("write bundle: %w", err)
	}
	var tail [8]byte
	binary.BigEndian.PutUint64(tail[:], count)
	if _, err := mw.Write(tail[:]); err != nil {
		return fmt.Errorf("write bundle: %w", err)
	}
	if _, err := w.Write(h.Sum(nil)); err != nil {
		return fmt.Errorf("write bundle: %w", err)
	}
	return nil
}

func bundleHeader(g crdt.GatheringID, since crdt.Clock) []byte {
	b := make([]byte, 0, bundleHeaderLen)
	b = append(b, bundleMagic...)
	b = append(b, BundleVersion)
	b = append(b, g[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(since.Wall))
	b = binary.BigEndian.AppendUint32(b, since.Logical)
	return b
}

// BundleInfo is what a bundle's header says.
type BundleInfo struct {
	Gathering crdt.GatheringID
	Since     crdt.Clock
}

// ReadBundle reads a bundle of gathering g and returns its distinct
// envelope encodings (copies dropped), each decoded, of g, at or after the bundle's since point and
// correctly signed. max bounds the decompressed size (≤ 0: DefaultMaxBundle).
// A truncated, corrupt, tampered or foreign bundle is refused as a whole
// with an error wrapping ErrBadBundle (and crdt.ErrForeign for another
// gathering's bundle).
func ReadBundle(r io.Reader, g crdt.GatheringID, max int64) ([][]byte, error) {
	raws, _, err := readBundle(r, g, max)
	return raws, err
}

// ReadBundleInfo is ReadBundle also returning the header.
func ReadBundleInfo(r io.Reader, g crdt.GatheringID, max int64) ([][]byte, BundleInfo, error) {
	return readBundle(r, g, max)
}

func readBundle(r io.Reader, g crdt.GatheringID, max int64) ([][]byte, BundleInfo, error) {
	raws, info, err := readFrames(r, g, max)
	if err != nil {
		return nil, info, err
	}
	// Holding only the id, a reader has nothing cheaper than the signature
	// to check. Import, which holds the keys, goes through the node's door
	// instead (see Import).
	for i, raw := range raws {
		e, err := crdt.AcceptSealed(g, raw)
		if err != nil {
			return nil, info, fmt.Errorf("%w: operation %d: %w", ErrBadBundle, i, err)
		}
		if err := checkSince(e, info.Since); err != nil {
			return nil, info, err
		}
	}
	return raws, info, nil
}

// checkSince refuses an operation before the bundle's since point.
func checkSince(e *crdt.Envelope, since crdt.Clock) error {
	if e.Clock.Less(since) {
		return fmt.Errorf("%w: operation %s has clock %s, before the bundle's since point %s",
			ErrBadBundle, e.ID(), e.Clock, since)
	}
	return nil
}

// readFrames reads a bundle's frame: header, gathering, the distinct
// envelope encodings, count and checksum. It checks no operation.
func readFrames(r io.Reader, g crdt.GatheringID, max int64) ([][]byte, BundleInfo, error) {
	var info BundleInfo
	if max <= 0 {
		max = DefaultMaxBundle
	}
	hdr := make([]byte, bundleHeaderLen)
	if n, err := io.ReadFull(r, hdr); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			if n == 0 {
				return nil, info, fmt.Errorf("%w: empty file, not a convene bundle", ErrBadBundle)
			}
			if string(hdr[:min(n, len(bundleMagic))]) != bundleMagic[:min(n, len(bundleMagic))] {
				return nil, info, fmt.Errorf("%w: not a convene bundle", ErrBadBundle)
			}
			return nil, info, fmt.Errorf("%w: truncated header (%d bytes)", ErrBadBundle, n)
		}
		return nil, info, fmt.Errorf("read bundle: %w", err)
	}
	if string(hdr[:len(bundleMagic)]) != bundleMagic {
		return nil, info, fmt.Errorf("%w: not a convene bundle", ErrBadBundle)
	}
	p := hdr[len(bundleMagic):]
	if p[0] != BundleVersion {
		return nil, info, fmt.Errorf("%w: format version %d, this node reads version %d", ErrBadBundle, p[0], BundleVersion)
	}
	copy(info.Gathering[:], p[1:33])
	info.Since.Wall = int64(binary.BigEndian.Uint64(p[33:41]))
	info.Since.Logical = binary.BigEndian.Uint32(p[41:45])
	if info.Gathering != g {
		return nil, info, fmt.Errorf("%w: %w: the bundle is of gathering %s, this node holds %s",
			ErrBadBundle, crdt.ErrForeign, info.Gathering, g)
	}
	if info.Since.Wall < 0 {
		return nil, info, fmt.Errorf("%w: negative since clock", ErrBadBundle)
	}

	h := sha256.New()
	h.Write(hdr)
	// zstd adds little to incompressible data; anything much larger than
	// max on disk cannot decompress to at most max.
	hb := &holdback{r: r, h: h, limit: max + max/16 + 1<<20}
	dec, err := zstd.NewReader(hb,
		zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderLowmem(true),
		zstd.WithDecoderMaxMemory(zstdMaxWindow))
	if err != nil {
		return nil, info, fmt.Errorf("read bundle: %w", err)
	}
	defer dec.Close()
	raws, total, err := readEnvelopes(bufio.NewReader(dec), max)
	if err != nil {
		if hb.err != nil && !errors.Is(hb.err, io.EOF) {
			err = hb.err
		}
		return nil, info, wrapBad(err)
	}
	// Hash whatever the decoder left unread, so trailing bytes cannot hide.
	if _, err := io.Copy(io.Discard, hb); err != nil {
		return nil, info, wrapBad(err)
	}
	if len(hb.buf) < bundleTrailerLen {
		return nil, info, fmt.Errorf("%w: truncated (no checksum)", ErrBadBundle)
	}
	tail := hb.buf
	h.Write(tail[:8])
	if subtle.ConstantTimeCompare(h.Sum(nil), tail[8:]) != 1 {
		return nil, info, fmt.Errorf("%w: checksum mismatch: the file is corrupt or was changed", ErrBadBundle)
	}
	if count := binary.BigEndian.Uint64(tail[:8]); count != uint64(total) {
		return nil, info, fmt.Errorf("%w: header says %d operations, the stream holds %d", ErrBadBundle, count, total)
	}
	return raws, info, nil
}

func wrapBad(err error) error {
	if errors.Is(err, ErrBadBundle) {
		return err
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: truncated: %w", ErrBadBundle, err)
	}
	var re readError
	if errors.As(err, &re) {
		return fmt.Errorf("read bundle: %w", re.err)
	}
	return fmt.Errorf("%w: corrupt stream: %w", ErrBadBundle, err)
}

// readEnvelopes reads length-prefixed envelopes until a clean end. It
// returns each distinct one once, and how many the stream held: a bundle
// of copies of one operation (which compresses to almost nothing) costs
// one copy of memory and, later, one signature check.
func readEnvelopes(br *bufio.Reader, max int64) ([][]byte, int, error) {
	var (
		raws  [][]byte
		count int
		total int64
		buf   []byte
	)
	seen := make(map[string]struct{})
	for {
		l, err := varint.Read(br, crdt.MaxEnvelopeSize)
		if errors.Is(err, io.EOF) {
			return raws, count, nil
		}
		if errors.Is(err, varint.ErrBad) || errors.Is(err, varint.ErrLimit) {
			return nil, 0, fmt.Errorf("%w: length of operation %d: %w", ErrBadBundle, count, err)
		}
		if err != nil {
			return nil, 0, err
		}
		if l < 1 {
			return nil, 0, fmt.Errorf("%w: operation %d is empty", ErrBadBundle, count)
		}
		if total += int64(l) + 1; total > max {
			return nil, 0, fmt.Errorf("%w: more than %d bytes of operations", ErrBadBundle, max)
		}
		if uint64(cap(buf)) < l {
			buf = make([]byte, crdt.MaxEnvelopeSize)
		}
		raw := buf[:l]
		if _, err := io.ReadFull(br, raw); err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, 0, err
		}
		count++
		if _, dup := seen[string(raw)]; dup {
			continue
		}
		raw = bytes.Clone(raw)
		seen[string(raw)] = struct{}{}
		raws = append(raws, raw)
	}
}

// readError marks a failure of the underlying reader, as opposed to bad
// content.
type readError struct{ err error }

func (e readError) Error() string { return e.err.Error() }

// holdback passes its input through, hashing it, except for the last
// bundleTrailerLen bytes, which it keeps in buf once the input ends.
type holdback struct {
	r     io.Reader
	h     hash.Hash
	limit int64
	read  int64
	buf   []byte
	chunk [32 << 10]byte
	err   error
}

func (b *holdback) Read(p []byte) (int, error) {
	for len(b.buf) <= bundleTrailerLen && b.err == nil {
		n, err := b.r.Read(b.chunk[:])
		b.buf = append(b.buf, b.chunk[:n]...)
		b.read += int64(n)
		switch {
		case b.read > b.limit:
			b.err = fmt.Errorf("%w: larger than %d bytes", ErrBadBundle, b.limit)
		case errors.Is(err, io.EOF):
			b.err = io.EOF
		case err != nil:
			b.err = readError{err}
		}
	}
	avail := len(b.buf) - bundleTrailerLen
	if avail <= 0 {
		return 0, b.err
	}
	n := copy(p, b.buf[:avail])
	b.h.Write(p[:n])
	b.buf = b.buf[n:]
	return n, nil
}
