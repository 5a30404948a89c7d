// Package link emulates a slow, lossy network link in user space: a relay
// that listens on one address, forwards to another, and shapes each
// direction — bandwidth, one-way delay, jitter and loss — as a long-distance
// link between two cities would. It exists because the kernels the labs run
// on have no netem; the in-process testnet (testnet.Options.Shape) and the
// namespace lab (testnet/cmd/linkem, run in a namespace between two
// bridges) both use it.
//
// Over UDP (QUIC) a lost datagram is dropped. A TCP relay cannot drop bytes
// without breaking the stream, so it does what TCP itself does about a lost
// segment: delivers it one retransmission timeout later, holding back
// everything behind it (head-of-line blocking). The bytes still arrive,
// intact and in order, as late as on the real link.
package link

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Shape is what one direction of a link does to the traffic.
type Shape struct {
	// Rate is the bandwidth in bits per second; 0: unlimited.
	Rate int64
	// Delay is the one-way propagation delay.
	Delay time.Duration
	// Jitter adds a uniformly random extra delay in [0, Jitter) to each
	// packet. Over TCP it never reorders the stream.
	Jitter time.Duration
	// Loss is the probability, in [0, 1], that a packet (a datagram, or a
	// TCP segment of up to Segment bytes) is lost.
	Loss float64
	// RTO is how late a lost TCP segment arrives (its retransmission);
	// zero: max(200 ms, 4 × Delay), Linux's floor and about two round
	// trips.
	RTO time.Duration
	// Queue bounds the bytes waiting to go out, as a router's buffer does;
	// zero: half a second at Rate (at least 16 segments), or 1 MiB when
	// Rate is unlimited. A full queue stalls a TCP sender and drops
	// datagrams.
	Queue int
}

// Segment is the size of the packets a TCP stream is cut into: an
// Ethernet MSS.
const Segment = 1448

// ErrShape is returned for a shape that cannot be.
var ErrShape = errors.New("bad link shape")

func (s Shape) validate() error {
	switch {
	case s.Rate < 0, s.Delay < 0, s.Jitter < 0, s.RTO < 0, s.Queue < 0:
		return fmt.Errorf("%w: negative value in %+v", ErrShape, s)
	case !(s.Loss >= 0 && s.Loss <= 1):
		return fmt.Errorf("%w: loss %v outside [0, 1]", ErrShape, s.Loss)
	}
	return nil
}

func (s Shape) rto() time.Duration {
	if s.RTO > 0 {
		return s.RTO
	}
	return max(200*time.Millisecond, 4*s.Delay)
}

func (s Shape) queue() int {
	if s.Queue > 0 {
		return s.Queue
	}
	if s.Rate == 0 {
		return 1 << 20
	}
	return max(16*Segment, int(s.Rate/8/2))
}

// String is the shape in the form ParseShape reads.
func (s Shape) String() string {
	var parts []string
	if s.Rate > 0 {
		parts = append(parts, "rate="+strconv.FormatInt(s.Rate, 10))
	}
	if s.Delay > 0 {
		parts = append(parts, "delay="+s.Delay.String())
	}
	if s.Jitter > 0 {
		parts = append(parts, "jitter="+s.Jitter.String())
	}
	if s.Loss > 0 {
		parts = append(parts, "loss="+strconv.FormatFloat(s.Loss, 'g', -1, 64))
	}
	if s.RTO > 0 {
		parts = append(parts, "rto="+s.RTO.String())
	}
	if s.Queue > 0 {
		parts = append(parts, "queue="+strconv.Itoa(s.Queue))
	}
	if len(parts) == 0 {
		return "unshaped"
	}
	return strings.Join(parts, ",")
}

// ParseShape reads "rate=64k,delay=300ms,jitter=20ms,loss=0.3" (any
// subset; rate takes k, M and G suffixes, in bits per second; loss a
// fraction or a percentage such as 30%).
func ParseShape(v string) (Shape, error) {
	var s Shape
	if v == "" || v == "unshaped" {
		return s, nil
	}
	for kv := range strings.SplitSeq(v, ",") {
		k, val, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok {
			return s, fmt.Errorf("%w: %q is not key=value", ErrShape, kv)
		}
		var err error
		switch k {
		case "rate":
			s.Rate, err = parseRate(val)
		case "delay":
			s.Delay, err = time.ParseDuration(val)
		case "jitter":
			s.Jitter, err = time.ParseDuration(val)
		case "rto":
			s.RTO, err = time.ParseDuration(val)
		case "queue":
			s.Queue, err = strconv.Atoi(val)
		case "loss":
			if p, pct := strings.CutSuffix(val, "%"); pct {
				s.Loss, err = strconv.ParseFloat(p, 64)
				s.Loss /= 100
			} else {
				s.Loss, err = strconv.ParseFloat(val, 64)
			}
		default:
			err = fmt.Errorf("unknown key %q", k)
		}
		if err != nil {
			return s, fmt.Errorf("%w: %s: %w", ErrShape, kv, err)
		}
	}
	return s, s.validate()
}

func parseRate(v string) (int64, error) {
	mult := int64(1)
	switch {
	case strings.HasSuffix(v, "k"):
		mult, v = 1000, strings.TrimSuffix(v, "k")
	case strings.HasSuffix(v, "M"):
		mult, v = 1000_000, strings.TrimSuffix(v, "M")
	case strings.HasSuffix(v, "G"):
		mult, v = 1000_000_000, strings.TrimSuffix(v, "G")
	}
	f, err := strconv.ParseFloat(v, 64)
	// Bounded well below int64's range, so that no conversion overflows.
	if err != nil || !(f >= 0 && f*float64(mult) < 1e15) {
		return 0, fmt.Errorf("rate %q: want bits per second such as 64k or 1M", v)
	}
	return int64(f * float64(mult)), nil
}

// shaper schedules the packets of one direction: when each leaves the
// sender's end (the link is busy for its size at Rate) and when it
// arrives (plus delay, jitter and, for a lost TCP segment, the
// retransmission timeout). It is used by one goroutine at a time.
type shaper struct {
	s    Shape
	rng  *rand.Rand
	busy time.Time // when the link finishes sending what it holds
	last time.Time // the latest arrival scheduled (TCP keeps order)
}

func newShaper(s Shape, seed uint64) *shaper {
	return &shaper{s: s, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// txTime is how long n bytes occupy the link.
func (sh *shaper) txTime(n int) time.Duration {
	if sh.s.Rate == 0 {
		return 0
	}
	return time.Duration(int64(n) * 8 * int64(time.Second) / sh.s.Rate)
}

func (sh *shaper) jitter() time.Duration {
	if sh.s.Jitter <= 0 {
		return 0
	}
	return time.Duration(sh.rng.Int64N(int64(sh.s.Jitter)))
}

func (sh *shaper) lost() bool { return sh.s.Loss > 0 && sh.rng.Float64() < sh.s.Loss }

// send starts n bytes on the link at now and returns when they are sent.
func (sh *shaper) send(now time.Time, n int) time.Time {
	start := now
	if sh.busy.After(start) {
		start = sh.busy
	}
	sh.busy = start.Add(sh.txTime(n))
	return sh.busy
}

// stream schedules a TCP segment of n bytes read at now: a lost one is
// sent again an RTO later (and may be lost again), and no segment arrives
// before the one ahead of it.
func (sh *shaper) stream(now time.Time, n int) time.Time {
	sent := sh.send(now, n)
	// Six losses in a row would make Linux give up on a real link long
	// after any test; the bound keeps a 100 %-loss shape from looping.
	for i := 0; i < 6 && sh.lost(); i++ {
		sent = sh.send(sent.Add(sh.s.rto()), n)
	}
	due := sent.Add(sh.s.Delay + sh.jitter())
	if due.Before(sh.last) {
		due = sh.last
	}
	sh.last = due
	return due
}

// datagram schedules a datagram of n bytes read at now; ok is false when
// it is lost (on the way, or because the queue is full).
func (sh *shaper) datagram(now time.Time, n int) (due time.Time, ok bool) {
	if sh.lost() {
		return time.Time{}, false
	}
	if sh.s.Rate > 0 && sh.busy.Sub(now) > sh.txTime(sh.s.queue()) {
		return time.Time{}, false // tail drop
	}
	return sh.send(now, n).Add(sh.s.Delay + sh.jitter()), true
}

// Counter counts the bytes a link delivers in each direction; one Counter
// may be shared by many relays. Its zero value is ready.
type Counter struct {
	up, down atomic.Int64
}

func (c *Counter) add(up bool, n int) {
	if c == nil || n <= 0 {
		return
	}
	if up {
		c.up.Add(int64(n))
	} else {
		c.down.Add(int64(n))
	}
}

// Bytes returns the bytes delivered toward the target (up) and back
// (down).
func (c *Counter) Bytes() (up, down int64) { return c.up.Load(), c.down.Load() }

// Total is every byte delivered, both ways.
func (c *Counter) Total() int64 { return c.up.Load() + c.down.Load() }
