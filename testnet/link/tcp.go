package link

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Config is a relay's shaping: Up for what goes toward the target, Down
// for what comes back.
type Config struct {
	Up, Down Shape
	// Counter counts the delivered bytes; nil: the relay's own.
	Counter *Counter
	// Seed makes the loss and jitter draws repeatable; each connection or
	// client draws from its own stream derived from it.
	Seed uint64
	// Dial reaches the target; nil: a net.Dialer.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

func (c *Config) check() error {
	if err := c.Up.validate(); err != nil {
		return err
	}
	if err := c.Down.validate(); err != nil {
		return err
	}
	if c.Counter == nil {
		c.Counter = new(Counter)
	}
	if c.Dial == nil {
		var d net.Dialer
		c.Dial = d.DialContext
	}
	return nil
}

// TCPRelay accepts TCP connections and forwards each to the target over a
// shaped link.
type TCPRelay struct {
	ln     net.Listener
	target string
	cfg    Config
	seq    atomic.Uint64

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// ListenTCP starts a relay on listen ("host:port"; port 0 for a free one)
// to target.
func ListenTCP(listen, target string, cfg Config) (*TCPRelay, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, err
	}
	r := &TCPRelay{ln: ln, target: target, cfg: cfg, conns: make(map[net.Conn]struct{})}
	r.wg.Go(r.serve)
	return r, nil
}

// Addr is where the relay listens.
func (r *TCPRelay) Addr() *net.TCPAddr { return r.ln.Addr().(*net.TCPAddr) }

// Counter counts the bytes the relay delivered.
func (r *TCPRelay) Counter() *Counter { return r.cfg.Counter }

func (r *TCPRelay) serve() {
	for {
		c, err := r.ln.Accept()
		if err != nil {
			return
		}
		r.wg.Go(func() { r.link(c) })
	}
}

// track records c so that Close can end it; false once the relay is
// closed.
func (r *TCPRelay) track(c net.Conn) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return false
	}
	r.conns[c] = struct{}{}
	return true
}

func (r *TCPRelay) untrack(c net.Conn) {
	r.mu.Lock()
	delete(r.conns, c)
	r.mu.Unlock()
}

func (r *TCPRelay) link(c net.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	u, err := r.cfg.Dial(ctx, "tcp", r.target)
	cancel()
	if err != nil {
		c.Close()
		return
	}
	if !r.track(c) || !r.track(u) {
		c.Close()
		u.Close()
		return
	}
	defer r.untrack(c)
	defer r.untrack(u)
	seed := r.cfg.Seed + 2*r.seq.Add(1)
	var wg sync.WaitGroup
	wg.Go(func() { pipe(u, c, newShaper(r.cfg.Up, seed), r.cfg.Counter, true) })
	wg.Go(func() { pipe(c, u, newShaper(r.cfg.Down, seed+1), r.cfg.Counter, false) })
	wg.Wait()
}

// segment is a piece of the stream and when it arrives.
type segment struct {
	b   []byte
	due time.Time
}

// pipe copies src to dst through the shaper: a reader cuts the stream
// into segments and schedules them, a writer delivers each at its time.
// The queue between them is the link's buffer: when it is full the reader
// stops reading, and TCP's flow control slows the sender as on a real
// bottleneck. When either side ends, both connections are closed, as a
// broken link would, once what was sent has arrived.
//
// The writer hands every segment already due to one writev, and a link
// that neither limits the rate nor loses nor jitters takes each read whole:
// cut into segments and written one by one, the 50-node heal's proxies
// (there only to count its bytes) made half its write calls.
func pipe(dst, src net.Conn, sh *shaper, count *Counter, up bool) {
	defer dst.Close()
	defer src.Close()
	const readSize = 32 << 10
	cut, slots := Segment, sh.s.queue()/Segment+1
	if sh.s.Rate == 0 && sh.s.Loss == 0 && sh.s.Jitter == 0 {
		cut, slots = readSize, sh.s.queue()/readSize+1
	}
	ch := make(chan segment, slots)
	// free takes the segments written back to the reader: a copy a read
	// was most of what the heal's proxies allocated.
	free := make(chan []byte, slots+64)
	done := make(chan struct{})
	go func() {
		defer close(done)
		var batch [][]byte
		// flush writes the batch in one writev; on an error the link is
		// done, and what is still queued is dropped.
		flush := func() bool {
			bufs := net.Buffers(batch) // WriteTo consumes bufs, not batch
			n, err := bufs.WriteTo(dst)
			count.add(up, int(n))
			for _, b := range batch {
				select {
				case free <- b[:0]:
				default:
				}
			}
			clear(batch)
			batch = batch[:0]
			if err != nil {
				src.Close()
				for range ch {
				}
				return false
			}
			return true
		}
		for seg := range ch {
			if d := time.Until(seg.due); d > 0 {
				time.Sleep(d)
			}
			batch = append(batch, seg.b)
			for more := true; more && len(batch) < 64; {
				select {
				case next, ok := <-ch:
					if !ok {
						more = false
						break
					}
					if time.Until(next.due) > 0 {
						// Not due yet: deliver what is, then wait for it.
						if !flush() {
							return
						}
						time.Sleep(time.Until(next.due))
					}
					batch = append(batch, next.b)
				default:
					more = false
				}
			}
			if !flush() {
				return
			}
		}
	}()
	buf := make([]byte, readSize)
	for {
		n, err := src.Read(buf)
		for b := buf[:n]; len(b) > 0; {
			k := min(len(b), cut)
			var seg []byte
			select {
			case seg = <-free:
			default:
			}
			if cap(seg) < k {
				seg = make([]byte, 0, (k+4095)&^4095)
			}
			ch <- segment{b: append(seg, b[:k]...), due: sh.stream(time.Now(), k)}
			b = b[k:]
		}
		if err != nil {
			break
		}
	}
	close(ch)
	<-done
}

// Close stops the relay and ends its connections.
func (r *TCPRelay) Close() error {
	r.mu.Lock()
	r.closed = true
	conns := make([]net.Conn, 0, len(r.conns))
	for c := range r.conns {
		conns = append(conns, c)
	}
	r.mu.Unlock()
	err := r.ln.Close()
	for _, c := range conns {
		c.Close()
	}
	r.wg.Wait()
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}
