package mesh

import (
	"fmt"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/node/recon"
)

// Priority. Reconciliation finds a difference range by range in clock
// order, and a side asks for what it lacks in the order it learns of it, so
// a new laptop would see a session's document only once the whole history
// had arrived. When a peer turns out to lack much (recon's gaps: it listed
// a handful of items for a range this side holds hundreds of), this side
// offers it, before its reply, the items of its replica's priority set
// (the active sessions and the authority they are read against, see
// crdt.State.Priority) that fall in those gaps: 'H' frames, lists of whole
// items (pull.go). The peer asks for offered items before anything else. The rest
// of the difference follows in the same session, so convergence is
// unchanged; an offer only reorders what the peer asks for, and the peer
// asks only for what it lacks.
//
// A side takes at most maxOffered offered items per session (each costs an
// index lookup and a little memory), and offered items count as told to
// the peer, so that its requests for them pass Take.
const (
	frameOffer = 'H'

	// offerAfter is how many items the peer must be known to lack before
	// this side offers: a smaller difference moves in a few requests,
	// and its order does not matter.
	offerAfter = 4 * maxRequestItems
	// maxOffered bounds the items offered in one session, either way.
	maxOffered = 1 << 14
	// maxOfferScans bounds how often one session looks through the
	// priority set for new gaps.
	maxOfferScans = 8
)

// errOffer is a peer offering more than a session takes.
var errOffer = fmt.Errorf("%w: more than %d items offered", errFrame, maxOffered)

// Prioritizer is what a Replica implements to have its priority items
// offered to peers that lack much: at most maxOffered items it holds,
// sorted.
type Prioritizer interface {
	Priority() []recon.Item
}

// MaxPriority is the most items a Prioritizer should return.
const MaxPriority = maxOffered

// offer is one session's offering side.
type offer struct {
	list    []recon.Item // the replica's priority set, loaded at the first gap
	offered []bool
	left    int // items of list not offered yet
	lacking int // rc.Lacking() at the last scan
	scans   int
}

// offer sends the peer, in 'H' frames, the priority items in the gaps rc
// found since the last call, and marks them told.
func (m *Mesh) offer(g *gathering, w *frameWriter, rc *recon.Reconciler, o *offer) error {
	lacking := rc.Lacking()
	if lacking < offerAfter || lacking == o.lacking || o.scans >= maxOfferScans {
		return nil
	}
	pr, ok := g.r.(Prioritizer)
	if !ok {
		return nil
	}
	o.lacking = lacking
	o.scans++
	if o.list == nil {
		o.list = pr.Priority()
		o.list = o.list[:min(len(o.list), maxOffered)]
		o.offered = make([]bool, len(o.list))
		o.left = len(o.list)
	}
	if o.left == 0 {
		return nil
	}
	var send []recon.Item
	for i, it := range o.list {
		if !o.offered[i] && rc.InGap(it) {
			o.offered[i] = true
			o.left--
			send = append(send, it)
		}
	}
	rc.Tell(send)
	for len(send) > 0 {
		n := min(len(send), maxRequestItems)
		if err := w.send(frameOffer, encodeOffer(send[:n])); err != nil {
			return err
		}
		send = send[n:]
	}
	return nil
}

// takeOffer queues the offered items this side lacks ahead of the rest.
func (m *Mesh) takeOffer(g *gathering, pl *puller, payload []byte) error {
	items, err := decodeOffer(payload)
	if err != nil {
		return err
	}
	pl.offered += len(items)
	if pl.offered > maxOffered {
		return errOffer
	}
	start := len(pl.prio)
	g.r.ReadIndex(func(ix *recon.Index) {
		for _, it := range items {
			if !ix.Has(it) {
				pl.prio = append(pl.prio, it)
			}
		}
	})
	g.arrivals.offered(pl.prio[start:])
	return nil
}

// History says whether operations this node knows it lacks are still
// arriving for a gathering, and whether those a peer offered first (the
// active sessions and their authority) have all arrived.
type History struct {
	Arriving bool
	// PriorityHeld: a peer offered its priority items during this
	// catch-up and every one of them is held.
	PriorityHeld bool
}

// History reports gathering id's history (zero if not joined).
func (m *Mesh) History(id crdt.GatheringID) History {
	g, err := m.gathering(id)
	if err != nil {
		return History{}
	}
	return g.arrivals.history(g.r)
}

// maxWanted bounds the offered items a catch-up remembers, whatever the
// peers and sessions offering them: a session takes at most maxOffered,
// but a catch-up lasts as long as some session of it runs, and peers
// taking turns could otherwise offer ids that do not exist without end.
// Honest peers offer much the same items (the authority and the active
// sessions), so twice one peer's set leaves room for two that differ.
const maxWanted = 2 * maxOffered

// arrivals tracks a gathering's catch-up: the sessions that learned this
// side lacks something and have not ended, the peers whose session was
// capped (the next one follows), and the offered items not yet held.
type arrivals struct {
	mu      sync.Mutex
	lacking map[*puller]struct{}
	more    map[peer.ID]bool
	want    map[crdt.OpID]recon.Item
	got     bool // a peer offered during this catch-up
	// over: more than maxWanted items were offered during this catch-up;
	// the rest were not remembered, so the priority set is not known held.
	over bool
	// since is when this catch-up began (the mesh's clock).
	since time.Time
}

func newArrivals() *arrivals {
	return &arrivals{lacking: make(map[*puller]struct{}), more: make(map[peer.ID]bool), want: make(map[crdt.OpID]recon.Item)}
}

// lack notes that pl's session learned, at now, of items this side lacks.
func (a *arrivals) lack(pl *puller, now time.Time) {
	a.mu.Lock()
	if len(a.lacking) == 0 && len(a.more) == 0 {
		a.since = now
	}
	a.lacking[pl] = struct{}{}
	a.mu.Unlock()
}

// catchingUp reports whether a catch-up that began less than d before now
// is going on.
func (a *arrivals) catchingUp(now time.Time, d time.Duration) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return (len(a.lacking) > 0 || len(a.more) > 0) && now.Sub(a.since) < d
}

// offered notes offered items this side lacks. An offer of nothing this
// side lacks says nothing of the catch-up: counting it would let one 'H'
// naming an operation already held mark the active sessions complete.
func (a *arrivals) offered(items []recon.Item) {
	if len(items) == 0 {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.got = true
	for _, it := range items {
		if _, ok := a.want[it.ID]; !ok && len(a.want) >= maxWanted {
			a.over = true
			return
		}
		a.want[it.ID] = it
	}
}

// ended notes the end of pl's session with p: capped (another follows) or
// not.
func (a *arrivals) ended(pl *puller, p peer.ID, capped bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.lacking, pl)
	if capped {
		a.more[p] = true
	} else {
		delete(a.more, p)
	}
	if len(a.lacking) == 0 && len(a.more) == 0 {
		clear(a.want)
		a.got, a.over = false, false
	}
}

// gone notes that no follow-up session with p is coming (it
// disconnected, or the retries to reach it ran out): a capped session of
// it no longer keeps the catch-up going.
func (a *arrivals) gone(p peer.ID) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.more, p)
	if len(a.lacking) == 0 && len(a.more) == 0 {
		clear(a.want)
		a.got, a.over = false, false
	}
}

func (a *arrivals) history(r Replica) History {
	a.mu.Lock()
	defer a.mu.Unlock()
	h := History{Arriving: len(a.lacking) > 0 || len(a.more) > 0}
	if !h.Arriving || !a.got {
		return h
	}
	r.ReadIndex(func(ix *recon.Index) {
		for id, it := range a.want {
			if ix.Has(it) {
				delete(a.want, id)
			}
		}
	})
	h.PriorityHeld = len(a.want) == 0 && !a.over
	return h
}

// waiting is how many items pl has yet to ask for.
func (p *puller) waiting() int { return len(p.prio) + len(p.pending) }
