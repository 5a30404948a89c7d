package mesh

// The frames of the reconciliation stream: reading them and writing them.

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"

	"github.com/convene/convene/internal/varint"
	"github.com/convene/convene/node/recon"
)

// frame is one frame read from a session's stream, or the error that
// ended reading.
type frame struct {
	typ     byte
	payload []byte
	err     error
}

// readFrames reads s's frames into frames until reading fails (the error
// is the last frame sent) or quit is closed.
func (m *Mesh) readFrames(s network.Stream, frames chan<- frame, quit <-chan struct{}) {
	r := bufio.NewReader(s)
	for {
		_ = s.SetReadDeadline(time.Now().Add(idleTimeout))
		typ, payload, err := readFrame(r)
		if err == nil {
			m.stats.bytesReceived.Add(int64(len(payload) + 1 + varint.Len(uint64(len(payload)))))
		}
		select {
		case frames <- frame{typ, payload, err}:
		case <-quit:
			return
		}
		if err != nil {
			return
		}
	}
}

// errFrame is a frame that no honest peer sends.
var errFrame = errors.New("malformed frame")

// readFrame reads one frame. Errors wrapping errFrame are the peer's
// doing; others are of the stream.
func readFrame(r *bufio.Reader) (byte, []byte, error) {
	typ, err := r.ReadByte()
	if err != nil {
		return 0, nil, err
	}
	n, err := varint.Read(r, math.MaxUint64)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		err = io.EOF // the stream ended: not a malformed frame
	}
	if errors.Is(err, varint.ErrBad) {
		return 0, nil, fmt.Errorf("%w: length: %w", errFrame, err)
	}
	if err != nil {
		return 0, nil, err
	}
	var limit uint64
	switch typ {
	case frameRecon:
		limit = recon.MaxMessageSize
	case frameRequest:
		limit = uint64(maxRequestBytes)
	case frameOffer:
		limit = uint64(maxOfferBytes)
	case framePush:
		limit = maxBatchBytes
	}
	if n > limit {
		return 0, nil, fmt.Errorf("%w: %q of %d bytes, limit %d", errFrame, typ, n, limit)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return 0, nil, err
	}
	return typ, b, nil
}

// frameWriter writes frames from its own goroutine, so that a side busy
// pushing never stops reading what the peer pushes (which would deadlock
// two peers whose stream windows are full).
//
// Frames are queued back to back in one buffer, and the writer takes the
// whole queue, writing it a frame's largest size at a time (each write
// with its own deadline, so that idleTimeout still bounds the wait for
// about one frame): a frame a write was a Noise message and a system
// call each, and a frame an allocation was the heal's largest after the
// signature checks'. The buffer written is kept for the next queue,
// unless a burst made it large. The bytes by kind are counted once
// written, as before.
type frameWriter struct {
	s     network.Stream
	stats *stats
	bufs  *sync.Pool // of *[]byte, shared by a mesh's sessions

	mu       sync.Mutex
	pending  []byte // frames queued, not yet taken by the writer
	spare    []byte // the buffer last written, emptied, for the next queue
	inflight int    // bytes of the write under way
	closed   bool
	err      error
	wake     chan struct{}
	done     chan struct{}
}

// countWritten adds the frames in buf, written, to the stats by kind.
func (w *frameWriter) countWritten(buf []byte) {
	for len(buf) > 0 {
		n, k := binary.Uvarint(buf[1:])
		if k <= 0 || uint64(len(buf)-1-k) < n {
			return // cannot happen: send framed them
		}
		size := int64(1 + k + int(n))
		switch buf[0] {
		case frameRecon:
			w.stats.reconMsgBytes.Add(size)
		case frameRequest:
			w.stats.requestBytes.Add(size)
		case framePush:
			w.stats.pushBytes.Add(size)
		}
		buf = buf[size:]
	}
}

// keepWriteBuffer is the largest buffer a writer keeps between writes.
const keepWriteBuffer = 1 << 20

func newFrameWriter(s network.Stream, st *stats, bufs *sync.Pool) *frameWriter {
	w := &frameWriter{s: s, stats: st, bufs: bufs, wake: make(chan struct{}, 1), done: make(chan struct{})}
	if b, ok := bufs.Get().(*[]byte); ok {
		w.pending = (*b)[:0]
	}
	go w.run()
	return w
}

// release gives the writer's buffers back to the pool, once it is done.
func (w *frameWriter) release() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, b := range []*[]byte{&w.pending, &w.spare} {
		if c := cap(*b); c > 0 && c <= keepWriteBuffer {
			buf := (*b)[:0]
			w.bufs.Put(&buf)
		}
		*b = nil
	}
}

// send queues a frame; payload is copied, so the caller may reuse it.
func (w *frameWriter) send(typ byte, payload []byte) error {
	n := 1 + varint.Len(uint64(len(payload))) + len(payload)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	if len(w.pending)+w.inflight+n > maxQueued {
		w.err = fmt.Errorf("%w: peer is not reading", errSession)
		return w.err
	}
	w.pending = append(w.pending, typ)
	w.pending = binary.AppendUvarint(w.pending, uint64(len(payload)))
	w.pending = append(w.pending, payload...)
	if typ == frameRecon {
		w.stats.reconSent.Add(1)
	}
	w.signal()
	return nil
}

func (w *frameWriter) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// close asks the writer to finish once the queue is written.
func (w *frameWriter) close() {
	w.mu.Lock()
	w.closed = true
	w.signal()
	w.mu.Unlock()
}

// wait waits for the writer to stop and returns its error.
func (w *frameWriter) wait() error {
	w.close()
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

func (w *frameWriter) run() {
	defer close(w.done)
	defer w.release()
	for {
		w.mu.Lock()
		buf := w.pending
		if len(buf) > 0 {
			w.pending, w.spare = w.spare[:0], nil
			w.inflight = len(buf)
		}
		closed := w.closed && len(buf) == 0
		w.mu.Unlock()
		if closed {
			return
		}
		if len(buf) == 0 {
			<-w.wake
			continue
		}
		// Written a frame's worth at a time, each with its own deadline:
		// idleTimeout bounds the wait for the peer to take about one
		// frame, not the whole queue.
		for rest := buf; len(rest) > 0; {
			part := rest[:min(len(rest), maxBatchBytes)]
			_ = w.s.SetWriteDeadline(time.Now().Add(idleTimeout))
			if _, err := w.s.Write(part); err != nil {
				w.mu.Lock()
				if w.err == nil {
					w.err = fmt.Errorf("%w: write: %v", errSession, err)
				}
				w.pending, w.inflight = nil, 0
				w.mu.Unlock()
				return
			}
			w.stats.bytesSent.Add(int64(len(part)))
			rest = rest[len(part):]
		}
		w.countWritten(buf)
		w.mu.Lock()
		w.inflight = 0
		if cap(buf) <= keepWriteBuffer {
			w.spare = buf[:0]
		}
		w.mu.Unlock()
	}
}
