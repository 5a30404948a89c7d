package crdt

import (
	"fmt"
	"io"
	"math"
)

// window feeds a reader from an io.Reader a part at a time, for
// ReadSnapshot: a snapshot of a million operations is ~200 MB, which held
// whole while the state is rebuilt from it was a third of the peak memory
// of a start. Every decoder reads through a reader's byte slice and copies
// what it keeps (ids into arrays, strings into strings), so sliding the
// window on never changes what was decoded.
//
// The caller fills the window before each item whose encoding is bounded
// (an operation's body is at most a payload, under MaxEnvelopeSize); with
// windowAhead bytes ahead, no such item straddles the window's end.
type window struct {
	src    io.Reader
	buf    []byte
	unread int64 // bytes of size not yet read from src
	err    error // a read error, or fewer bytes than size
}

const (
	windowAhead = 2 * MaxEnvelopeSize
	windowSize  = 1 << 20
)

func newWindow(src io.Reader, size int64) *window {
	return &window{src: src, buf: make([]byte, 0, min(max(size, 0), windowSize)), unread: max(size, 0)}
}

// fill slides r's window on when fewer than windowAhead bytes are left in
// it and more are to come.
func (w *window) fill(r *reader) {
	if w.unread == 0 || w.err != nil || r.left() >= windowAhead {
		return
	}
	n := copy(w.buf[:cap(w.buf)], r.b[r.off:])
	want := min(int64(cap(w.buf)-n), w.unread)
	got, err := io.ReadFull(w.src, w.buf[n:n+int(want)])
	w.unread -= int64(got)
	if err != nil {
		w.err = fmt.Errorf("%w: snapshot: %w", ErrMalformed, err)
	}
	r.b, r.off = w.buf[:n+got], 0
}

// count is reader.count bounded by what is left of the whole input rather
// than of the window.
func (w *window) count(r *reader, limit, size int) int {
	n := r.uvarint()
	if r.err != nil {
		return 0
	}
	if n > uint64(limit) {
		r.fail(ErrTooLarge, "list of %d, limit %d", n, limit)
		return 0
	}
	if left := uint64(r.left()) + uint64(w.unread); n > left/uint64(size) || n > math.MaxInt32 {
		r.fail(ErrMalformed, "truncated list")
		return 0
	}
	return int(n)
}
