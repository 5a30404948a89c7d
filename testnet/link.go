package testnet

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// proxy stands in front of one node's TCP listener. Every connection to the
// node goes through it (the gaters refuse direct addresses), so it can delay
// the bytes in each direction, as a slower network would, and count them:
// everything on the wire, including noise, yamux, identify and gossip.
//
// TCP does not lose bytes, so loss is not injected here; the Net drops
// gossip instead (see SetGossipLoss).
type proxy struct {
	ln     net.Listener
	target string
	delay  time.Duration // one way
	bytes  *atomic.Int64 // shared by every proxy of a Net

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

func newProxy(target string, delay time.Duration, bytes *atomic.Int64) (*proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &proxy{ln: ln, target: target, delay: delay, bytes: bytes, conns: make(map[net.Conn]struct{})}
	p.wg.Go(p.serve)
	return p, nil
}

// port is the proxy's port on 127.0.0.1.
func (p *proxy) port() int { return p.ln.Addr().(*net.TCPAddr).Port }

func (p *proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Go(func() { p.link(c) })
	}
}

// track records c so that close can end it; false once the proxy is closed.
func (p *proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *proxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

func (p *proxy) link(c net.Conn) {
	u, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	if !p.track(c) || !p.track(u) {
		c.Close()
		u.Close()
		return
	}
	defer p.untrack(c)
	defer p.untrack(u)
	var wg sync.WaitGroup
	wg.Go(func() { p.pipe(u, c) })
	wg.Go(func() { p.pipe(c, u) })
	wg.Wait()
}

// chunk is a piece of the stream and when it may be delivered.
type chunk struct {
	b   []byte
	due time.Time
}

// pipe copies src to dst, each chunk held back by the delay. When either
// side ends, both connections are closed, as a broken link would.
func (p *proxy) pipe(dst, src net.Conn) {
	defer dst.Close()
	defer src.Close()
	if p.delay <= 0 {
		_, _ = io.Copy(countingWriter{dst, p.bytes}, src)
		return
	}
	// The reader stamps chunks as they arrive; the writer delivers each at
	// its time. Bytes are delayed, not the link throttled: a burst arrives
	// one delay later, whole.
	ch := make(chan chunk, 1024)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for c := range ch {
			if d := time.Until(c.due); d > 0 {
				time.Sleep(d)
			}
			n, err := dst.Write(c.b)
			p.bytes.Add(int64(n))
			if err != nil {
				src.Close()
				for range ch {
				}
				return
			}
		}
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			ch <- chunk{b: append([]byte(nil), buf[:n]...), due: time.Now().Add(p.delay)}
		}
		if err != nil {
			break
		}
	}
	close(ch)
	<-done
}

func (p *proxy) close() error {
	p.mu.Lock()
	p.closed = true
	conns := make([]net.Conn, 0, len(p.conns))
	for c := range p.conns {
		conns = append(conns, c)
	}
	p.mu.Unlock()
	err := p.ln.Close()
	for _, c := range conns {
		c.Close()
	}
	p.wg.Wait()
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

// countingWriter counts the bytes written as they go, so that a reader
// of the count sees live links too.
type countingWriter struct {
	w io.Writer
	n *atomic.Int64
}

func (c countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n.Add(int64(n))
	return n, err
}
