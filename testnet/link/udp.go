package link

import (
	"context"
	"errors"
	"net"
	"sync"
	"time"
)

// UDPRelay forwards datagrams (QUIC) from each client to the target over a
// shaped link: lost datagrams are dropped, jitter may reorder them, and a
// full queue drops what arrives. Each client address gets its own socket
// toward the target, so that the target's answers find their way back.
type UDPRelay struct {
	pc     net.PacketConn
	target string
	cfg    Config
	seed   uint64
	up     *shaper // used by serve alone

	mu      sync.Mutex
	clients map[string]*udpClient
	closed  bool
	wg      sync.WaitGroup
}

type udpClient struct {
	addr net.Addr
	conn net.Conn // toward the target
}

// ListenUDP starts a relay on listen ("host:port") to target.
func ListenUDP(listen, target string, cfg Config) (*UDPRelay, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	pc, err := net.ListenPacket("udp", listen)
	if err != nil {
		return nil, err
	}
	r := &UDPRelay{pc: pc, target: target, cfg: cfg, up: newShaper(cfg.Up, cfg.Seed), clients: make(map[string]*udpClient)}
	r.wg.Go(r.serve)
	return r, nil
}

// Addr is where the relay listens.
func (r *UDPRelay) Addr() *net.UDPAddr { return r.pc.LocalAddr().(*net.UDPAddr) }

// Counter counts the bytes the relay delivered.
func (r *UDPRelay) Counter() *Counter { return r.cfg.Counter }

func (r *UDPRelay) serve() {
	buf := make([]byte, 64<<10)
	for {
		n, from, err := r.pc.ReadFrom(buf)
		if err != nil {
			return
		}
		c := r.client(from)
		if c == nil {
			continue
		}
		due, ok := r.up.datagram(time.Now(), n)
		if !ok {
			continue
		}
		b := append([]byte(nil), buf[:n]...)
		r.at(due, func() {
			if k, err := c.conn.Write(b); err == nil {
				r.cfg.Counter.add(true, k)
			}
		})
	}
}

// client returns the socket toward the target for a client address,
// making it (and its return path) on the first datagram.
func (r *UDPRelay) client(from net.Addr) *udpClient {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	if c, ok := r.clients[from.String()]; ok {
		return c
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	conn, err := r.cfg.Dial(ctx, "udp", r.target)
	cancel()
	if err != nil {
		return nil
	}
	r.seed += 2
	c := &udpClient{addr: from, conn: conn}
	r.clients[from.String()] = c
	down := newShaper(r.cfg.Down, r.cfg.Seed+r.seed+1)
	r.wg.Go(func() {
		buf := make([]byte, 64<<10)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				// An ICMP "refused" from a target that is restarting: the
				// path may come back.
				time.Sleep(10 * time.Millisecond)
				continue
			}
			due, ok := down.datagram(time.Now(), n)
			if !ok {
				continue
			}
			b := append([]byte(nil), buf[:n]...)
			r.at(due, func() {
				if k, err := r.pc.WriteTo(b, from); err == nil {
					r.cfg.Counter.add(false, k)
				}
			})
		}
	})
	return c
}

// at runs fn at t, unless the relay is closed by then.
func (r *UDPRelay) at(t time.Time, fn func()) {
	time.AfterFunc(time.Until(t), func() {
		r.mu.Lock()
		closed := r.closed
		r.mu.Unlock()
		if !closed {
			fn()
		}
	})
}

// Close stops the relay and closes every client's socket.
func (r *UDPRelay) Close() error {
	r.mu.Lock()
	r.closed = true
	clients := r.clients
	r.clients = nil
	r.mu.Unlock()
	err := r.pc.Close()
	for _, c := range clients {
		c.conn.Close()
	}
	r.wg.Wait()
	return err
}
