package mesh

import (
	"context"
	"encoding/binary"
	"io"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/convene/convene/crdt"
)

// Hub tickets after a rotation (issue 10). A hub holds the ticket of the
// epoch it was started with and refuses operations of a newer one at the
// door, as it must. When it has refused such an operation, it asks the
// next peer it reconciles with for the hand-overs of the rotations after
// the newest epoch it holds (handoverProto); a member answers from the
// rotation operations it holds, and the hub keeps the tickets that open
// with one it holds (crdt.Tickets.Take), so a hand-over is checked by its
// chain, not by whom it came from. The hub then reconciles with that peer
// at once, to store what it refused.
//
// The request is the gathering id (32 bytes) and the newest epoch held (8
// bytes, big-endian); the answer a count (1 byte, at most maxHandovers)
// and that many crdt.HandoverSize encodings, oldest epoch first.
const (
	handoverProto   = protocol.ID("/convene/handover/1")
	maxHandovers    = 64
	handoverTimeout = 10 * time.Second
)

// HandoverSource is a replica that can hand hubs the next tickets: a
// member's, from the rotations it holds.
type HandoverSource interface {
	// Handovers are the hand-overs of the rotations to epochs after
	// after, oldest first.
	Handovers(after uint64) []crdt.Handover
}

// HandoverSink is a hub's replica, which holds tickets.
type HandoverSink interface {
	// WantsHandover reports, and forgets, that an operation of an epoch
	// newer than any held was refused since the last call.
	WantsHandover() bool
	// NewestEpoch is the newest epoch a ticket is held for.
	NewestEpoch() uint64
	// TakeHandovers keeps the tickets that chain from those held, and
	// says how many were new.
	TakeHandovers(hs []crdt.Handover) int
}

// handleHandover answers a hub's request with the hand-overs this node's
// replica holds. Unknown gatherings get a reset, as in handleRecon.
func (m *Mesh) handleHandover(s network.Stream) {
	_ = s.SetDeadline(time.Now().Add(handoverTimeout))
	var req [32 + 8]byte
	if _, err := io.ReadFull(s, req[:]); err != nil {
		s.Reset()
		return
	}
	g, err := m.gathering(crdt.GatheringID(req[:32]))
	if err != nil {
		s.Reset()
		return
	}
	src, ok := g.r.(HandoverSource)
	if !ok {
		s.Reset()
		return
	}
	hs := src.Handovers(binary.BigEndian.Uint64(req[32:]))
	hs = hs[:min(len(hs), maxHandovers)]
	out := []byte{byte(len(hs))}
	for _, h := range hs {
		out = h.Encode(out)
	}
	if _, err := s.Write(out); err != nil {
		s.Reset()
		return
	}
	s.Close()
}

// askHandover asks p for the hand-overs after the newest epoch g's hub
// replica holds, and reconciles with p at once if a ticket was new.
func (m *Mesh) askHandover(ctx context.Context, g *gathering, sink HandoverSink, p peer.ID) {
	ctx, cancel := context.WithTimeout(ctx, handoverTimeout)
	defer cancel()
	s, err := m.h.NewStream(network.WithAllowLimitedConn(ctx, "handover"), p, handoverProto)
	if err != nil {
		return // not a member (another hub), or gone
	}
	_ = s.SetDeadline(time.Now().Add(handoverTimeout))
	req := binary.BigEndian.AppendUint64(append([]byte{}, g.id[:]...), sink.NewestEpoch())
	if _, err := s.Write(req); err != nil {
		s.Reset()
		return
	}
	_ = s.CloseWrite()
	var n [1]byte
	if _, err := io.ReadFull(s, n[:]); err != nil || n[0] > maxHandovers {
		s.Reset()
		return
	}
	buf := make([]byte, int(n[0])*crdt.HandoverSize)
	if _, err := io.ReadFull(s, buf); err != nil {
		s.Reset()
		return
	}
	s.Close()
	hs := make([]crdt.Handover, 0, n[0])
	for i := range int(n[0]) {
		h, err := crdt.DecodeHandover(buf[i*crdt.HandoverSize : (i+1)*crdt.HandoverSize])
		if err != nil {
			return
		}
		hs = append(hs, h)
	}
	if added := sink.TakeHandovers(hs); added > 0 {
		m.log.Info("hub holds the next epoch's ticket", "gathering", g.id, "epoch", sink.NewestEpoch(), "from", p.ShortString())
		_ = m.initiate(m.ctx, g, p)
	}
}
