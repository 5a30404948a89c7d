package mesh

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/node/recon"
)

// Pulling. Reconciliation tells each side of a session what it lacks; each
// side then asks the peer for those operations, a chunk at a time, rather
// than the peer pushing them. After a partition heals, a laptop meets a
// couple of dozen peers at once, and each of those sessions finds the same
// operations missing: pushed, every one would arrive a couple of dozen
// times. Pulled, a gathering's sessions share one claim set, so each
// missing operation is asked for by one session, from one peer, and the
// other sessions ask only for what that one did not bring.
//
// A request ('Q' frame) lists items in ascending order:
//
//	count  uvarint, minimal, 1..maxRequestItems
//	count × (uvarint wall − previous wall (the first: wall), minimal;
//	         uvarint logical, minimal; 32 bytes id)
//
// Items ascend strictly, so a request has one encoding.
const (
	// maxRequestItems bounds one request: small enough that the index is
	// looked at again soon (other sessions store meanwhile), large enough
	// that the answer compresses well.
	maxRequestItems = 512
	// maxRequestBytes bounds an encoded request.
	maxRequestBytes = binary.MaxVarintLen16 + maxRequestItems*(2*binary.MaxVarintLen64+len(crdt.OpID{}))
	// openRequests is how many requests a session has unanswered at once,
	// so that the peer packs the next answer while this side verifies.
	openRequests = 2
	// claimTTL is how long a claim holds against other sessions even if
	// its session neither ends nor gets its answer (the idle timeout ends
	// such a session first).
	claimTTL = 2 * idleTimeout
	// claimPoll is how often a session waiting only for others' claims
	// looks at them again, for the expired ones.
	claimPoll = time.Second
)

var errRequest = errors.New("malformed request")

// encodeRequest encodes items, which must be 1..maxRequestItems, strictly
// ascending.
func encodeRequest(items []recon.Item) []byte {
	b := make([]byte, 0, binary.MaxVarintLen16+len(items)*(8+2+len(crdt.OpID{})))
	b = binary.AppendUvarint(b, uint64(len(items)))
	var prev int64
	for _, it := range items {
		b = binary.AppendUvarint(b, uint64(it.Clock.Wall-prev))
		b = binary.AppendUvarint(b, uint64(it.Clock.Logical))
		b = append(b, it.ID[:]...)
		prev = it.Clock.Wall
	}
	return b
}

// decodeRequest parses a request strictly: anything out of bounds,
// trailing, non-minimal or out of order is refused.
func decodeRequest(b []byte) ([]recon.Item, error) {
	n, b, err := cutUvarint(b, math.MaxUint64, errRequest)
	if err != nil {
		return nil, err
	}
	if n == 0 || n > maxRequestItems {
		return nil, fmt.Errorf("%w: %d items, limit 1..%d", errRequest, n, maxRequestItems)
	}
	// Each item takes at least 34 bytes, so n cannot outrun the body.
	if n > uint64(len(b))/34 {
		return nil, fmt.Errorf("%w: %d items in %d bytes", errRequest, n, len(b))
	}
	items := make([]recon.Item, 0, n)
	var wall uint64
	for i := range n {
		var d, logical uint64
		if d, b, err = cutUvarint(b, math.MaxUint64, errRequest); err != nil {
			return nil, err
		}
		if logical, b, err = cutUvarint(b, math.MaxUint64, errRequest); err != nil {
			return nil, err
		}
		if d > math.MaxInt64-wall {
			return nil, fmt.Errorf("%w: clock out of range", errRequest)
		}
		wall += d
		if logical > math.MaxUint32 {
			return nil, fmt.Errorf("%w: logical clock %d out of range", errRequest, logical)
		}
		if len(b) < len(crdt.OpID{}) {
			return nil, fmt.Errorf("%w: truncated item", errRequest)
		}
		it := recon.Item{Clock: crdt.Clock{Wall: int64(wall), Logical: uint32(logical)}}
		copy(it.ID[:], b)
		b = b[len(it.ID):]
		if i > 0 && items[i-1].Compare(it) >= 0 {
			return nil, fmt.Errorf("%w: items out of order", errRequest)
		}
		items = append(items, it)
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", errRequest, len(b))
	}
	return items, nil
}

// claims is a gathering's set of operations some session has asked a peer
// for and not yet had answered. A claim ends when the answer arrives (the
// operation is stored, or turned out not to be storable), when its
// session ends, or at its deadline.
type claims struct {
	mu      sync.Mutex
	by      map[crdt.OpID]claim
	changed chan struct{} // closed, and replaced, when claims are released
}

type claim struct {
	owner *puller
	until time.Time
}

func newClaims() *claims {
	return &claims{by: make(map[crdt.OpID]claim), changed: make(chan struct{})}
}

// wait returns a channel closed at the next release.
func (c *claims) wait() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.changed
}

// release ends owner's claims on items.
func (c *claims) release(owner *puller, items []recon.Item) {
	if len(items) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, it := range items {
		if cl, ok := c.by[it.ID]; ok && cl.owner == owner {
			delete(c.by, it.ID)
		}
	}
	close(c.changed)
	c.changed = make(chan struct{})
}

// puller is one session's side of pulling: what it learned it lacks and
// has not asked for, and what it asked for and is waiting for.
type puller struct {
	c       *claims
	prio    []recon.Item   // offered by the peer (priority.go); asked for first
	pending []recon.Item   // needed; not yet asked for
	open    [][]recon.Item // asked for, oldest first
	offered int            // items the peer offered this session
	// asked holds the offered items asked for this session: one is
	// reported needed again later, and the peer answers each item once.
	// (The reconciler reports every other item once.)
	asked map[crdt.OpID]struct{}
}

// next takes from prio, then pending, in order, up to maxRequestItems
// items that the index lacks, this session has not asked for and no other
// session has claimed, claims them and returns them sorted (nil: nothing
// to ask for now). Items the index holds are dropped; those claimed
// elsewhere stay, for later. Call it with the index's read lock held
// (Replica.ReadIndex).
func (p *puller) next(ix *recon.Index, now time.Time) []recon.Item {
	var req []recon.Item
	p.c.mu.Lock()
	req = p.take(&p.prio, req, ix, now, true)
	req = p.take(&p.pending, req, ix, now, false)
	p.c.mu.Unlock()
	if len(req) == 0 {
		return nil
	}
	slices.SortFunc(req, recon.Item.Compare)
	// A request has no duplicates, whatever the reconciler reported.
	req = slices.CompactFunc(req, func(a, b recon.Item) bool { return a.Compare(b) == 0 })
	p.open = append(p.open, req)
	return req
}

// take moves items from *queue to req, as next says, remembering them if
// offered. Callers hold p.c.mu.
func (p *puller) take(queue *[]recon.Item, req []recon.Item, ix *recon.Index, now time.Time, offered bool) []recon.Item {
	q := *queue
	keep := q[:0]
	for i, it := range q {
		if len(req) == maxRequestItems {
			keep = append(keep, q[i:]...)
			break
		}
		if _, ok := p.asked[it.ID]; ok || ix.Has(it) {
			continue
		}
		if cl, ok := p.c.by[it.ID]; ok && cl.owner != p && now.Before(cl.until) {
			keep = append(keep, it)
			continue
		}
		p.c.by[it.ID] = claim{owner: p, until: now.Add(claimTTL)}
		if offered {
			if p.asked == nil {
				p.asked = make(map[crdt.OpID]struct{})
			}
			p.asked[it.ID] = struct{}{}
		}
		req = append(req, it)
	}
	clear(q[len(keep):])
	*queue = keep
	return req
}

// answered ends the oldest request; it reports false if none is open.
func (p *puller) answered() bool {
	if len(p.open) == 0 {
		return false
	}
	p.c.release(p, p.open[0])
	p.open[0] = nil
	p.open = p.open[1:]
	return true
}

// end releases everything the session still claims.
func (p *puller) end() {
	var all []recon.Item
	for _, r := range p.open {
		all = append(all, r...)
	}
	p.c.release(p, all)
	p.open, p.pending, p.prio = nil, nil, nil
}
