package mesh

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/klauspost/compress/zstd"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/internal/varint"
)

// A batch carries a few encoded operations, on a gossip topic or a
// reconciliation stream:
//
//	version  1 byte (1)
//	flags    1 byte (bit 0: the rest is one zstd frame)
//	count    uvarint, minimal, 1..maxBatchOps
//	count × (uvarint length, minimal, 1..crdt.MaxEnvelopeSize; the envelope)
//
// Compression is used only when it pays: small batches (one or two
// operations, the usual live case) go as they are.
const (
	batchVersion = 1
	flagZstd     = 1 << 0

	// maxBatchBytes bounds a decoded batch; it also bounds what a zstd frame
	// may expand to, so a small message cannot unpack into a large one.
	maxBatchBytes = 1 << 20
	// packBytes is where the encoder starts a new batch, well under the
	// gossip message limit (1 MiB) even if compression does not help.
	packBytes   = 256 << 10
	maxBatchOps = 4096
	// compressAbove is the body size from which zstd is tried.
	compressAbove = 1 << 10
)

var errBatch = errors.New("malformed batch")

// codec encodes and decodes batches. Both directions are safe for
// concurrent use, and after close: GossipSub's validators are not the
// mesh's goroutines, so one may still decode while the mesh closes.
type codec struct {
	mu     sync.RWMutex // held for reading around the zstd calls
	closed bool
	enc    *zstd.Encoder
	dec    *zstd.Decoder
	// bodies holds the buffers batches are assembled in before they are
	// compressed or copied out (*[]byte): one a batch was a tenth of
	// the heal's allocation.
	bodies sync.Pool
}

var errClosed = errors.New("mesh: closed")

func newCodec() (*codec, error) {
	// The fastest level: what compresses in a batch of sealed envelopes
	// is the gathering id and the author keys they repeat, which it finds
	// as well as the default level does (the 50-node heal moved 116.7 MB
	// against 116.1 MB) for 40 % of its CPU (0.51 s against 1.32 s).
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1), zstd.WithLowerEncoderMem(true), zstd.WithWindowSize(maxBatchBytes))
	if err != nil {
		return nil, fmt.Errorf("zstd encoder: %w", err)
	}
	dec, err := zstd.NewReader(nil,
		zstd.WithDecoderConcurrency(0),
		zstd.WithDecoderMaxMemory(maxBatchBytes),
		zstd.WithDecoderMaxWindow(maxBatchBytes),
	)
	if err != nil {
		enc.Close()
		return nil, fmt.Errorf("zstd decoder: %w", err)
	}
	return &codec{enc: enc, dec: dec}, nil
}

func (c *codec) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	c.enc.Close()
	c.dec.Close()
}

// pack splits raws into encoded batches of at most about packBytes each.
// Each raw must already be at most crdt.MaxEnvelopeSize.
func (c *codec) pack(raws [][]byte) [][]byte {
	var out [][]byte
	for len(raws) > 0 {
		n, size := 0, 0
		for n < len(raws) && n < maxBatchOps && (n == 0 || size+len(raws[n]) <= packBytes) {
			size += len(raws[n])
			n++
		}
		out = append(out, c.encode(raws[:n]))
		raws = raws[n:]
	}
	return out
}

// encode makes one batch of raws (1..maxBatchOps of them).
func (c *codec) encode(raws [][]byte) []byte {
	size := binary.MaxVarintLen64
	for _, r := range raws {
		size += binary.MaxVarintLen64 + len(r)
	}
	bp, _ := c.bodies.Get().(*[]byte)
	if bp == nil {
		bp = new([]byte)
	}
	body := slices.Grow((*bp)[:0], size)
	defer func() {
		if cap(body) <= maxBatchBytes {
			*bp = body[:0]
			c.bodies.Put(bp)
		}
	}()
	body = binary.AppendUvarint(body, uint64(len(raws)))
	for _, r := range raws {
		body = binary.AppendUvarint(body, uint64(len(r)))
		body = append(body, r...)
	}
	if len(body) > compressAbove {
		var z []byte
		c.mu.RLock()
		if !c.closed {
			// Room for the worst case: sealed envelopes shrink by a
			// fifth at most, and a buffer grown mid-frame is copied.
			z = c.enc.EncodeAll(body, make([]byte, 2, 2+len(body)+len(body)>>7+64))
		}
		c.mu.RUnlock()
		if z != nil && len(z)-2 < len(body) {
			z[0], z[1] = batchVersion, flagZstd
			return z
		}
	}
	return append([]byte{batchVersion, 0}, body...)
}

// decode parses a batch strictly: anything out of bounds, trailing or
// non-minimal is refused. The returned slices share memory with b or with a
// fresh buffer; they are not checked as envelopes.
func (c *codec) decode(b []byte) ([][]byte, error) {
	if len(b) < 2 {
		return nil, fmt.Errorf("%w: %d bytes is too short", errBatch, len(b))
	}
	if b[0] != batchVersion {
		return nil, fmt.Errorf("%w: unknown version %d", errBatch, b[0])
	}
	body := b[2:]
	switch b[1] {
	case 0:
	case flagZstd:
		var err error
		c.mu.RLock()
		if c.closed {
			c.mu.RUnlock()
			return nil, errClosed
		}
		body, err = c.dec.DecodeAll(body, nil)
		c.mu.RUnlock()
		if err != nil {
			return nil, fmt.Errorf("%w: zstd: %v", errBatch, err)
		}
	default:
		return nil, fmt.Errorf("%w: unknown flags %#x", errBatch, b[1])
	}
	if len(body) > maxBatchBytes {
		return nil, fmt.Errorf("%w: %d bytes decoded, limit %d", errBatch, len(body), maxBatchBytes)
	}
	n, body, err := cutUvarint(body, math.MaxUint64, errBatch)
	if err != nil {
		return nil, err
	}
	if n == 0 || n > maxBatchOps {
		return nil, fmt.Errorf("%w: %d operations, limit 1..%d", errBatch, n, maxBatchOps)
	}
	// Each operation takes at least two bytes, so n cannot outrun the body.
	if n > uint64(len(body))/2 {
		return nil, fmt.Errorf("%w: %d operations in %d bytes", errBatch, n, len(body))
	}
	raws := make([][]byte, 0, n)
	for range n {
		var l uint64
		l, body, err = cutUvarint(body, math.MaxUint64, errBatch)
		if err != nil {
			return nil, err
		}
		if l == 0 || l > crdt.MaxEnvelopeSize {
			return nil, fmt.Errorf("%w: operation of %d bytes, limit 1..%d", errBatch, l, crdt.MaxEnvelopeSize)
		}
		if l > uint64(len(body)) {
			return nil, fmt.Errorf("%w: truncated operation", errBatch)
		}
		raws = append(raws, body[:l:l])
		body = body[l:]
	}
	if len(body) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", errBatch, len(body))
	}
	return raws, nil
}

// cutUvarint reads the uvarint at the start of b (in its one shortest
// encoding, at most limit) and returns it and the rest of b; a bad one is
// an error of kind. Every length and count on the wire (batches, frames,
// requests, peer exchange) is read by it or by varint.Read.
func cutUvarint(b []byte, limit uint64, kind error) (uint64, []byte, error) {
	v, n, err := varint.Uvarint(b, limit)
	if err != nil {
		return 0, nil, fmt.Errorf("%w: %w", kind, err)
	}
	return v, b[n:], nil
}
