package mesh

import (
	"bytes"
	"encoding/binary"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
)

// recordingStream is the part of a stream a frameWriter uses: it records
// each write and whether a deadline was set before it.
type recordingStream struct {
	network.Stream               // nil: the writer calls nothing else
	gate           chan struct{} // writes wait until it is closed

	mu        sync.Mutex
	data      bytes.Buffer
	writes    []int
	deadlines int
	undated   int // writes with no deadline set since the previous one
}

func (s *recordingStream) SetWriteDeadline(time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deadlines++
	return nil
}

func (s *recordingStream) Write(b []byte) (int, error) {
	<-s.gate
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.deadlines == 0 {
		s.undated++
	}
	s.deadlines = 0
	s.writes = append(s.writes, len(b))
	return s.data.Write(b)
}

// TestFrameWriterWritesInFrames: frames queued by several senders come
// out whole and in each sender's order, no write is larger than a frame
// may be (each under a deadline of its own), and the bytes by kind are
// what was written.
func TestFrameWriterWritesInFrames(t *testing.T) {
	// The stream takes nothing until every frame is queued, so that the
	// writer finds megabytes waiting.
	s := &recordingStream{gate: make(chan struct{})}
	var st stats
	var pool sync.Pool
	w := newFrameWriter(s, &st, &pool)
	frame := func(typ byte, payload []byte) []byte {
		f := append([]byte{typ}, binary.AppendUvarint(nil, uint64(len(payload)))...)
		return append(f, payload...)
	}
	var want [2][]byte // by sender
	var wg sync.WaitGroup
	for sender := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 40 {
				typ, size := byte(frameRecon), 100+i
				if i%4 == 0 {
					typ, size = framePush, 200<<10 // 40 of these: several MiB queued
				}
				payload := bytes.Repeat([]byte{byte(sender), byte(i)}, size/2)
				want[sender] = append(want[sender], frame(typ, payload)...)
				if err := w.send(typ, payload); err != nil {
					t.Error(err)
					return
				}
				payload[0] ^= 0xFF // the caller may reuse its buffer
			}
		}()
	}
	wg.Wait()
	close(s.gate)
	if err := w.wait(); err != nil {
		t.Fatal(err)
	}
	// Split what was written into frames, and each sender's in order.
	var got [2][]byte
	var recon, push int64
	for rest := s.data.Bytes(); len(rest) > 0; {
		n, k := binary.Uvarint(rest[1:])
		f := rest[:1+k+int(n)]
		got[f[1+k]] = append(got[f[1+k]], f...)
		switch f[0] {
		case frameRecon:
			recon += int64(len(f))
		case framePush:
			push += int64(len(f))
		}
		rest = rest[len(f):]
	}
	for sender := range 2 {
		if !bytes.Equal(got[sender], want[sender]) {
			t.Fatalf("sender %d: the frames written differ from those sent", sender)
		}
	}
	for _, n := range s.writes {
		if n > maxBatchBytes {
			t.Fatalf("a write of %d bytes, over a frame's largest (%d)", n, maxBatchBytes)
		}
	}
	if s.undated != 0 {
		t.Fatalf("%d writes had no deadline of their own", s.undated)
	}
	if st.reconMsgBytes.Load() != recon || st.pushBytes.Load() != push || st.bytesSent.Load() != int64(s.data.Len()) {
		t.Fatalf("stats: recon %d, push %d, sent %d; written %d, %d, %d",
			st.reconMsgBytes.Load(), st.pushBytes.Load(), st.bytesSent.Load(), recon, push, s.data.Len())
	}
}
