package recon

import (
	"fmt"
	"sync"

	"github.com/convene/convene/crdt"
)

// Defaults and limits of Options.
const (
	DefaultBranch          = 16
	DefaultIDListThreshold = 16
	MaxBranch              = 64
	MaxIDListThreshold     = 256

	// answerLimit is the most items a side sends back in one id list
	// diff; a side holding more in the range splits it instead.
	answerLimit = 512
	// maxRangeOutput bounds what answering one range adds to a message,
	// skip range before it included.
	maxRangeOutput = 1 + maxBoundLen + // skip
		1 + 3 + answerLimit*maxItemLen + 3 + MaxItemsPerRange/8 + maxBoundLen // id list diff
	// MinFrameLimit is the smallest Options.FrameLimit.
	MinFrameLimit = 2*maxRangeOutput + 2*(1+FingerprintSize+maxBoundLen)
	// DefaultMaxItems is the default and largest Options.MaxItems: about
	// 6 MB of ids and map entries per session.
	DefaultMaxItems = 1 << 16
)

// Options tune a Reconciler. The zero value is the defaults. Both sides
// need not agree on them.
type Options struct {
	// Branch is how many sub-ranges a differing range is split into (2 to
	// 64; default 16). Lower costs fewer bytes and more round trips.
	Branch int
	// IDListThreshold: a differing range with at most this many items is
	// sent as its list of items rather than split (1 to 256; default 16).
	IDListThreshold int
	// FrameLimit bounds the size of the messages this side sends (default
	// and maximum MaxMessageSize, minimum MinFrameLimit). An answer that
	// would be larger is cut short; the rest of the ranges are carried to
	// the next round as one fingerprint.
	FrameLimit int
	// MaxItems bounds the differing items a session reports (have and need
	// together; default and maximum DefaultMaxItems). Past it, further
	// items are left out of have and need (Capped reports it): the ids a
	// peer lists cost memory until the session ends, and a peer may list
	// ids that do not exist. What was left out is found by a later session,
	// once this one's difference is fetched.
	MaxItems int
	// Lock, if set, is held while a message is computed from the index:
	// pass the store's RWMutex.RLocker(), so that inserts can go on between
	// rounds. Without it the caller must keep the index still during
	// Initiate and Reconcile.
	Lock sync.Locker
}

// Stats counts a session's traffic.
type Stats struct {
	MessagesSent, MessagesReceived int
	BytesSent, BytesReceived       int
}

// Reconciler runs one side of one reconciliation session. The initiator
// calls Initiate and sends the message; then each side passes every message
// it receives to Reconcile and sends back the reply, if any, until
// Reconcile reports done:
//
//	initiator: m := Initiate(); send(m)
//	both:      for { m := recv(); reply, have, need, done, err := Reconcile(m)
//	                 if reply != nil { send(reply) }; if done { break } }
//
// Both sides learn the whole difference: have lists the items this side
// holds that the peer lacks (to push), need the items the peer holds that
// this side lacks (to fetch). Each item is reported once per session.
// Items inserted into the index during a session may or may not take part.
//
// A Reconciler is not safe for concurrent use.
type Reconciler struct {
	ix       *Index
	opt      Options
	started  bool
	done     bool
	pending  map[Bound][]key // id lists of our last message, by upper bound
	reported map[crdt.OpID]struct{}
	capped   bool
	// told holds the items this side listed to the peer (in id lists and
	// id list diffs), which are the only ones the peer can learn it lacks
	// from this session; taken marks those it has asked for (see Take).
	told  map[crdt.OpID]bool
	stats Stats
	gaps  gaps // ranges the peer holds far fewer of than this side (gap.go)
}

// NewReconciler starts a session over ix.
func NewReconciler(ix *Index, opt Options) *Reconciler {
	if opt.Branch == 0 {
		opt.Branch = DefaultBranch
	}
	opt.Branch = min(max(opt.Branch, 2), MaxBranch)
	if opt.IDListThreshold == 0 {
		opt.IDListThreshold = DefaultIDListThreshold
	}
	opt.IDListThreshold = min(max(opt.IDListThreshold, 1), MaxIDListThreshold)
	if opt.FrameLimit == 0 {
		opt.FrameLimit = MaxMessageSize
	}
	opt.FrameLimit = min(max(opt.FrameLimit, MinFrameLimit), MaxMessageSize)
	if opt.MaxItems <= 0 || opt.MaxItems > DefaultMaxItems {
		opt.MaxItems = DefaultMaxItems
	}
	return &Reconciler{ix: ix, opt: opt, reported: make(map[crdt.OpID]struct{}), told: make(map[crdt.OpID]bool)}
}

// Capped reports whether the session left items out of have or need
// because it reached Options.MaxItems.
func (r *Reconciler) Capped() bool { return r.capped }

// tell records the items of one of our messages. Their number is bounded
// by this side's own index: a peer cannot make it grow with ids of its own.
func (r *Reconciler) tell(keys []key) {
	for i := range keys {
		id := keys[i].item().ID
		if _, ok := r.told[id]; !ok {
			r.told[id] = false
		}
	}
}

// Done reports whether the session is over.
func (r *Reconciler) Done() bool { return r.done }

// Stats reports the session's traffic so far.
func (r *Reconciler) Stats() Stats { return r.stats }

func (r *Reconciler) lock() func() {
	if r.opt.Lock == nil {
		return func() {}
	}
	r.opt.Lock.Lock()
	return r.opt.Lock.Unlock
}

// Initiate returns the first message of a session: the fingerprint of the
// whole set, or the whole set if it is small.
func (r *Reconciler) Initiate() ([]byte, error) {
	if r.started {
		return nil, fmt.Errorf("%w: session already started", ErrProtocol)
	}
	defer r.lock()()
	r.started = true
	t := &turn{r: r, out: newEncoder(), pending: make(map[Bound][]key)}
	var lo Bound
	hi := Infinity()
	ix := r.ix
	if ix.n <= r.opt.IDListThreshold {
		t.split(&lo, &hi, ix.seek(&lo), ix.seek(&hi), ix.n)
	} else {
		t.out.fingerprint(&lo, &hi, ix.total.fingerprint(ix.n))
	}
	r.pending = t.pending
	r.tellTurn(t)
	r.stats.MessagesSent++
	r.stats.BytesSent += len(t.out.buf)
	return t.out.buf, nil
}

// Reconcile takes a message from the peer and returns the reply to send
// (nil: send nothing), what the message revealed of the difference, and
// whether the session is over. A message that does not decode or does not
// fit the session returns an error and changes nothing; the session should
// then be dropped.
func (r *Reconciler) Reconcile(msg []byte) (reply []byte, have, need []Item, done bool, err error) {
	if r.done {
		return nil, nil, nil, true, fmt.Errorf("%w: session is over", ErrProtocol)
	}
	ranges, err := decodeMessage(msg)
	if err != nil {
		return nil, nil, nil, false, err
	}
	unlock := r.lock()
	t := &turn{r: r, out: newEncoder(), pending: make(map[Bound][]key)}
	err = t.run(ranges)
	unlock()
	if err != nil {
		return nil, nil, nil, false, err
	}

	r.started = true
	r.pending = t.pending
	r.tellTurn(t)
	r.stats.MessagesReceived++
	r.stats.BytesReceived += len(msg)
	have = r.report(t.have)
	need = r.report(t.need)
	done = t.out.asks == 0
	r.done = done
	if t.out.content > 0 || t.asked {
		reply = t.out.buf
		r.stats.MessagesSent++
		r.stats.BytesSent += len(reply)
	}
	return reply, have, need, done, nil
}

// tellTurn records what a turn's message lists to the peer.
func (r *Reconciler) tellTurn(t *turn) {
	for _, keys := range t.pending {
		r.tell(keys)
	}
	r.tell(t.listed)
}

// report turns keys into items, leaving out those reported before and,
// past MaxItems, all others.
func (r *Reconciler) report(keys []key) []Item {
	out := make([]Item, 0, len(keys))
	for i := range keys {
		it := keys[i].item()
		if _, ok := r.reported[it.ID]; ok {
			continue
		}
		if len(r.reported) >= r.opt.MaxItems {
			r.capped = true
			break
		}
		r.reported[it.ID] = struct{}{}
		out = append(out, it)
	}
	return out
}

// turn is the work of answering one message.
type turn struct {
	r          *Reconciler
	out        *encoder
	pending    map[Bound][]key
	have, need []key
	listed     []key // our items in this turn's id list diffs
	asked      bool
}

func (t *turn) run(ranges []rng) error {
	ix := t.r.ix
	cut := false
	var lower Bound
	for i := range ranges {
		rg := &ranges[i]
		if rg.asks() {
			t.asked = true
		}
		switch {
		case rg.mode == modeIDListDiff:
			if err := t.diff(rg); err != nil {
				return err
			}
		case !rg.asks() || cut:
		case t.out.content > 0 && len(t.out.buf)+maxRangeOutput > t.r.opt.FrameLimit:
			// Out of room: carry everything from here on to the next
			// round as one range. The id list diffs further on are still
			// read above; the skips do not matter.
			cut = true
			hi := Infinity()
			n, s := ix.span(ix.seek(&lower), ix.seek(&hi))
			t.out.fingerprint(&lower, &hi, s.fingerprint(n))
		case rg.mode == modeFingerprint:
			p, q := ix.seek(&lower), ix.seek(&rg.upper)
			n, s := ix.span(p, q)
			if s.fingerprint(n) != rg.fp {
				t.split(&lower, &rg.upper, p, q, n)
			}
		case rg.mode == modeIDList:
			t.idList(&lower, rg)
		}
		lower = rg.upper
	}
	return nil
}

// split asks about our items in [lo, hi), which are [p, q) and number n:
// as an id list if they are few, else as fingerprints of sub-ranges of
// about equal counts.
func (t *turn) split(lo, hi *Bound, p, q pos, n int) {
	ix := t.r.ix
	if n <= t.r.opt.IDListThreshold {
		keys := ix.keys(make([]key, 0, n), p, q)
		t.out.idList(lo, hi, keys)
		t.pending[*hi] = keys
		return
	}
	buckets := min(t.r.opt.Branch, n)
	cur := *lo
	for j := range buckets {
		size := n / buckets
		if j < n%buckets {
			size++
		}
		var s sum
		next := ix.advance(p, size, &s)
		upper := *hi
		if j < buckets-1 {
			upper = boundBetween(ix.at(ix.prev(next)), ix.at(next))
		}
		t.out.fingerprint(&cur, &upper, s.fingerprint(size))
		cur, p = upper, next
	}
}

// idList answers the peer's list of its items in [lo, rg.upper).
func (t *turn) idList(lo *Bound, rg *rng) {
	ix := t.r.ix
	theirs := rg.keys
	p, q := ix.seek(lo), ix.seek(&rg.upper)
	n, _ := ix.span(p, q)
	if n > answerLimit {
		// Too many to send back at once: note what we lack, and ask about
		// smaller ranges; the peer learns what it lacks from those.
		for i := range theirs {
			if !ix.hasKey(&theirs[i]) {
				t.need = append(t.need, theirs[i])
			}
		}
		t.r.gaps.add(lo, &rg.upper, n-len(theirs))
		t.split(lo, &rg.upper, p, q, n)
		return
	}
	var bits []byte
	var have []key
	i := 0
	for ; p != q; p = ix.next(p) {
		k := ix.at(p)
		for i < len(theirs) && cmpKey(&theirs[i], k) < 0 {
			bits = setBit(bits, i)
			t.need = append(t.need, theirs[i])
			i++
		}
		if i < len(theirs) && theirs[i] == *k {
			i++
			continue
		}
		have = append(have, *k)
	}
	for ; i < len(theirs); i++ {
		bits = setBit(bits, i)
		t.need = append(t.need, theirs[i])
	}
	if len(have) == 0 && len(bits) == 0 {
		return
	}
	t.have = append(t.have, have...)
	t.listed = append(t.listed, have...)
	t.out.idListDiff(lo, &rg.upper, have, bits)
}

func setBit(bits []byte, i int) []byte {
	for len(bits) <= i/8 {
		bits = append(bits, 0)
	}
	bits[i/8] |= 1 << (i % 8)
	return bits
}

// diff takes the peer's answer to one of our id lists.
func (t *turn) diff(rg *rng) error {
	sent, ok := t.r.pending[rg.upper]
	if !ok {
		return fmt.Errorf("%w: answer to an id list up to %s that was not sent", ErrProtocol, rg.upper)
	}
	if len(rg.bits) > (len(sent)+7)/8 {
		return fmt.Errorf("%w: bit field of %d bytes for %d items", ErrProtocol, len(rg.bits), len(sent))
	}
	for i := range 8 * len(rg.bits) {
		if rg.bits[i/8]&(1<<(i%8)) == 0 {
			continue
		}
		if i >= len(sent) {
			return fmt.Errorf("%w: bit %d set for %d items", ErrProtocol, i, len(sent))
		}
		t.have = append(t.have, sent[i])
	}
	ix := t.r.ix
	for i := range rg.keys {
		if !ix.hasKey(&rg.keys[i]) {
			t.need = append(t.need, rg.keys[i])
		}
	}
	return nil
}
