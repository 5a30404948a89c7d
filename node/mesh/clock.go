package mesh

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Time. A laptop whose clock is an hour ahead stamps operations that every
// other node holds back as "not accepted yet" for that hour. So each node
// asks its peers for their wall clocks (timeProto, on connect and each
// clockEvery), takes the median of the offsets it measures as the room's
// time, and stamps its operations with that (Clock.Now). Peers answer with
// their own uncorrected clock, so that a wrong laptop is corrected by the
// others and not the others by it.
const (
	timeProto   = "/convene/time/1"
	clockEvery  = time.Minute
	timeTimeout = 5 * time.Second
	// ClockWarning is the offset from the room past which a node warns.
	ClockWarning = 2 * time.Minute
	// clockSamples bounds the peers whose offsets are kept.
	clockSamples = 64
)

// Clock is a node's wall clock corrected by the offset measured from its
// peers. Its zero offset holds until a peer has answered.
type Clock struct {
	raw      func() time.Time
	mu       sync.Mutex
	offset   time.Duration
	samples  map[peer.ID]time.Duration
	measured chan struct{} // closed by the settleSamples-th sample
}

// NewClock wraps the raw wall clock (nil: time.Now).
func NewClock(raw func() time.Time) *Clock {
	if raw == nil {
		raw = time.Now
	}
	return &Clock{raw: raw, samples: make(map[peer.ID]time.Duration), measured: make(chan struct{})}
}

// Measured is closed once settleSamples peers have answered, or one whose
// clock agrees with this laptop's: from then on Now is the room's time
// (node.Config.ClockReady). One answer that disagrees is not enough: this
// laptop counts as a voice at zero, and two voices that disagree correct
// neither (see median).
func (c *Clock) Measured() <-chan struct{} { return c.measured }

// settleSamples is the fewest peers whose median can correct this laptop.
const settleSamples = 2

// Now is the room's time: the raw clock plus the measured offset.
func (c *Clock) Now() time.Time { return c.raw().Add(c.Offset()) }

// Offset is how far the room's time is from this laptop's clock: negative
// when this laptop is ahead of the room.
func (c *Clock) Offset() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.offset
}

// Status reports the offset and from how many peers it was measured.
func (c *Clock) Status() (offset time.Duration, peers int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.offset, len(c.samples)
}

func (c *Clock) record(p peer.ID, d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.samples[p]; !ok && len(c.samples) >= clockSamples {
		for q := range c.samples {
			delete(c.samples, q)
			break
		}
	}
	c.samples[p] = d
	// Settled: two peers answered, or one that agrees with this laptop's
	// clock (a laptop whose clock is right need not wait for a second).
	select {
	case <-c.measured:
	default:
		if len(c.samples) >= settleSamples || d.Abs() <= ClockWarning {
			close(c.measured)
		}
	}
	// This laptop counts as one voice at offset zero: with two peers, one
	// of them wrong, the median is then the right one.
	ds := make([]time.Duration, 0, len(c.samples)+1)
	ds = append(ds, 0)
	for _, v := range c.samples {
		ds = append(ds, v)
	}
	c.offset = median(ds)
}

// median of ds; for an even count, whichever of the middle two is nearer
// zero: when the room is split evenly, this laptop is not corrected away
// from its own clock (nor warned).
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	n := len(ds)
	if n%2 == 1 {
		return ds[n/2]
	}
	if lo, hi := ds[n/2-1], ds[n/2]; lo.Abs() < hi.Abs() {
		return lo
	}
	return ds[n/2]
}

// handleTime answers with this node's raw wall clock, in Unix nanoseconds.
func (m *Mesh) handleTime(s network.Stream) {
	defer s.Close()
	s.SetDeadline(time.Now().Add(timeTimeout))
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(m.clock.raw().UnixNano()))
	s.Write(b[:])
}

// askTime measures p's clock against this node's raw clock, halving the
// round trip.
func (m *Mesh) askTime(ctx context.Context, p peer.ID) error {
	ctx, cancel := context.WithTimeout(ctx, timeTimeout)
	defer cancel()
	sent := time.Now()
	local := m.clock.raw()
	s, err := m.h.NewStream(network.WithAllowLimitedConn(ctx, "time"), p, timeProto)
	if err != nil {
		return fmt.Errorf("ask the time: %w", err)
	}
	defer s.Close()
	s.SetDeadline(time.Now().Add(timeTimeout))
	var b [8]byte
	if _, err := io.ReadFull(s, b[:]); err != nil {
		s.Reset()
		return fmt.Errorf("read the time: %w", err)
	}
	rtt := time.Since(sent)
	// A round trip over the connection: the liveness check's first
	// measure of the link, before any ping has been answered.
	m.h.Peerstore().RecordLatency(p, rtt)
	remote := time.Unix(0, int64(binary.BigEndian.Uint64(b[:])))
	m.clock.record(p, remote.Sub(local.Add(rtt/2)))
	return nil
}

// clockLoop asks every connected peer for the time each clockEvery; new
// connections are asked on connect (see connected).
func (m *Mesh) clockLoop() {
	for {
		select {
		case <-m.ctx.Done():
			return
		case <-time.After(jitter(clockEvery)):
		}
		for _, p := range m.h.Network().Peers() {
			m.wg.Go(func() { m.timeOf(p) })
		}
	}
}

func (m *Mesh) timeOf(p peer.ID) {
	if err := m.askTime(m.ctx, p); err != nil {
		m.log.Debug("clock offset", "remote", p.ShortString(), "err", err)
	}
}

// Clock is the mesh's clock: the room's time and this laptop's offset.
func (m *Mesh) Clock() *Clock { return m.clock }
