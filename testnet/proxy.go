package testnet

import (
	"github.com/convene/convene/testnet/link"
)

// proxy stands in front of one node's TCP listener. Every connection to the
// node goes through it (the gaters refuse direct addresses), so it can
// shape the bytes in each direction (link.Shape: delay, and with
// Options.Shape bandwidth, jitter and loss), as a slower network would, and
// count them: everything on the wire, including noise, yamux, identify and
// gossip.
//
// TCP does not lose bytes, so loss here delays a segment by a
// retransmission (see package link); the Net can also drop gossip outright
// (see SetGossipLoss).
type proxy struct {
	r *link.TCPRelay
}

func newProxy(target string, shape link.Shape, count *link.Counter) (*proxy, error) {
	r, err := link.ListenTCP("127.0.0.1:0", target, link.Config{Up: shape, Down: shape, Counter: count})
	if err != nil {
		return nil, err
	}
	return &proxy{r: r}, nil
}

// port is the proxy's port on 127.0.0.1.
func (p *proxy) port() int { return p.r.Addr().Port }

func (p *proxy) close() error { return p.r.Close() }
