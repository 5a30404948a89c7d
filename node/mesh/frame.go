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
type frameWriter struct {
	s     network.Stream
	stats *stats

	mu     sync.Mutex
	queue  [][]byte
	queued int
	closed bool
	err    error
	wake   chan struct{}
	done   chan struct{}
}

func newFrameWriter(s network.Stream, st *stats) *frameWriter {
	w := &frameWriter{s: s, stats: st, wake: make(chan struct{}, 1), done: make(chan struct{})}
	go w.run()
	return w
}

func (w *frameWriter) send(typ byte, payload []byte) error {
	f := make([]byte, 0, 1+binary.MaxVarintLen64+len(payload))
	f = append(f, typ)
	f = binary.AppendUvarint(f, uint64(len(payload)))
	f = append(f, payload...)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	if w.queued+len(f) > maxQueued {
		w.err = fmt.Errorf("%w: peer is not reading", errSession)
		return w.err
	}
	w.queue = append(w.queue, f)
	w.queued += len(f)
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
	for {
		w.mu.Lock()
		q := w.queue
		w.queue = nil
		closed := w.closed && len(q) == 0
		w.mu.Unlock()
		if closed {
			return
		}
		for _, f := range q {
			_ = w.s.SetWriteDeadline(time.Now().Add(idleTimeout))
			if _, err := w.s.Write(f); err != nil {
				w.mu.Lock()
				if w.err == nil {
					w.err = fmt.Errorf("%w: write: %v", errSession, err)
				}
				w.queue, w.queued = nil, 0
				w.mu.Unlock()
				return
			}
			w.stats.bytesSent.Add(int64(len(f)))
			switch f[0] {
			case frameRecon:
				w.stats.reconMsgBytes.Add(int64(len(f)))
			case frameRequest:
				w.stats.requestBytes.Add(int64(len(f)))
			case framePush:
				w.stats.pushBytes.Add(int64(len(f)))
			}
			w.mu.Lock()
			w.queued -= len(f)
			w.mu.Unlock()
		}
		if len(q) == 0 {
			<-w.wake
		}
	}
}
