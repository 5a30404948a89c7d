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
// A request ('Q' frame) names items by their recon.Ref (clock and the
// first 8 bytes of the id), in ascending order:
//
//	count  uvarint, minimal, 1..maxRequestItems
//	count × (uvarint wall − previous wall (the first: wall), minimal;
//	         uvarint logical, minimal; 8 bytes id prefix)
//
// Refs ascend strictly, so a request has one encoding. A ref costs about
// 10 bytes where the whole id cost 34: after a heal, requests were 7 % of
// the reconciliation bytes. The peer answers a ref with every item it
// holds that has it (recon.Reconciler.Take): an author can make two
// operations share a ref, and the peer must not pick one. So a session
// names each ref once (puller.requested): the answer to it carries every
// item that has it.
//
// An offer ('H' frame, priority.go) lists whole items, as requests did
// before (the receiver must know which operations it is offered):
//
//	count  uvarint, minimal, 1..maxRequestItems
//	count × (uvarint wall − previous wall (the first: wall), minimal;
//	         uvarint logical, minimal; 32 bytes id)
const (
	// maxRequestItems bounds one request (and one offer): small enough
	// that the index is looked at again soon (other sessions store
	// meanwhile), large enough that the answer compresses well.
	maxRequestItems = 512
	// maxRequestBytes bounds an encoded request.
	maxRequestBytes = binary.MaxVarintLen16 + maxRequestItems*(2*binary.MaxVarintLen64+recon.RefLen)
	// maxOfferBytes bounds an encoded offer.
	maxOfferBytes = binary.MaxVarintLen16 + maxRequestItems*(2*binary.MaxVarintLen64+len(crdt.OpID{}))
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

var (
	errRequest = errors.New("malformed request")
	errOffered = errors.New("malformed offer")
)

// encodeRequest encodes the refs of items, which must be
// 1..maxRequestItems, strictly ascending; items that share a ref are
// named once.
func encodeRequest(items []recon.Item) []byte {
	refs := make([]recon.Ref, 0, len(items))
	for _, it := range items {
		if r := it.Ref(); len(refs) == 0 || refs[len(refs)-1] != r {
			refs = append(refs, r)
		}
	}
	return encodeRefs(refs)
}

// encodeRefs encodes refs, which must be 1..maxRequestItems, strictly
// ascending, as a request.
func encodeRefs(refs []recon.Ref) []byte {
	return encodeList(refs, recon.RefLen, func(r *recon.Ref) (crdt.Clock, []byte) { return r.Clock, r.Prefix[:] })
}

// encodeList encodes the count and the (clock, id bytes) entries common to
// requests and offers (decodeList reads them).
func encodeList[T any](list []T, idLen int, entry func(*T) (crdt.Clock, []byte)) []byte {
	b := make([]byte, 0, binary.MaxVarintLen16+len(list)*(8+2+idLen))
	b = binary.AppendUvarint(b, uint64(len(list)))
	var prev int64
	for i := range list {
		c, id := entry(&list[i])
		b = binary.AppendUvarint(b, uint64(c.Wall-prev))
		b = binary.AppendUvarint(b, uint64(c.Logical))
		b = append(b, id...)
		prev = c.Wall
	}
	return b
}

// decodeRequest parses a request strictly: anything out of bounds,
// trailing, non-minimal or out of order is refused.
func decodeRequest(b []byte) ([]recon.Ref, error) {
	refs, err := decodeList(b, recon.RefLen, errRequest, func(c crdt.Clock, id []byte) recon.Ref {
		return recon.Ref{Clock: c, Prefix: [recon.RefLen]byte(id)}
	})
	if err != nil {
		return nil, err
	}
	for i := 1; i < len(refs); i++ {
		if refs[i-1].Compare(refs[i]) >= 0 {
			return nil, fmt.Errorf("%w: items out of order", errRequest)
		}
	}
	return refs, nil
}

// encodeOffer encodes items, which must be 1..maxRequestItems, strictly
// ascending, as an offer.
func encodeOffer(items []recon.Item) []byte {
	return encodeList(items, len(crdt.OpID{}), func(it *recon.Item) (crdt.Clock, []byte) { return it.Clock, it.ID[:] })
}

// decodeOffer parses an offer as strictly as a request.
func decodeOffer(b []byte) ([]recon.Item, error) {
	items, err := decodeList(b, len(crdt.OpID{}), errOffered, func(c crdt.Clock, id []byte) recon.Item {
		return recon.Item{Clock: c, ID: crdt.OpID(id)}
	})
	if err != nil {
		return nil, err
	}
	for i := 1; i < len(items); i++ {
		if items[i-1].Compare(items[i]) >= 0 {
			return nil, fmt.Errorf("%w: items out of order", errOffered)
		}
	}
	return items, nil
}

// decodeList parses the count and the (clock, idLen id bytes) entries
// common to requests and offers; kind is the error they wrap. The caller
// checks the order.
func decodeList[T any](b []byte, idLen int, kind error, make1 func(crdt.Clock, []byte) T) ([]T, error) {
	n, b, err := cutUvarint(b, math.MaxUint64, kind)
	if err != nil {
		return nil, err
	}
	if n == 0 || n > maxRequestItems {
		return nil, fmt.Errorf("%w: %d items, limit 1..%d", kind, n, maxRequestItems)
	}
	// Each entry takes at least 2+idLen bytes, so n cannot outrun the
	// body.
	if n > uint64(len(b))/uint64(2+idLen) {
		return nil, fmt.Errorf("%w: %d items in %d bytes", kind, n, len(b))
	}
	out := make([]T, 0, n)
	var wall uint64
	for range n {
		var d, logical uint64
		if d, b, err = cutUvarint(b, math.MaxUint64, kind); err != nil {
			return nil, err
		}
		if logical, b, err = cutUvarint(b, math.MaxUint64, kind); err != nil {
			return nil, err
		}
		if d > math.MaxInt64-wall {
			return nil, fmt.Errorf("%w: clock out of range", kind)
		}
		wall += d
		if logical > math.MaxUint32 {
			return nil, fmt.Errorf("%w: logical clock %d out of range", kind, logical)
		}
		if len(b) < idLen {
			return nil, fmt.Errorf("%w: truncated item", kind)
		}
		out = append(out, make1(crdt.Clock{Wall: int64(wall), Logical: uint32(logical)}, b[:idLen]))
		b = b[idLen:]
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", kind, len(b))
	}
	return out, nil
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
	// requested holds the refs asked for this session. The peer answers
	// each ref once, with every item that has it: an item whose ref was
	// asked for came with that answer, or comes in a later session (an
	// offered item reported needed again later, or one that shares its ref
	// with another, which only their author can make happen).
	requested map[recon.Ref]struct{}
}

// next takes from prio, then pending, in order, up to maxRequestItems
// items that the index lacks, whose ref this session has not asked for and
// that no other session has claimed, claims them and returns them sorted
// (nil: nothing to ask for now). Items the index holds, or whose ref was
// asked for, are dropped; those claimed elsewhere stay, for later. Call it with the index's read lock held
// (Replica.ReadIndex).
func (p *puller) next(ix *recon.Index, now time.Time) []recon.Item {
	var req []recon.Item
	p.c.mu.Lock()
	req = p.take(&p.prio, req, ix, now)
	req = p.take(&p.pending, req, ix, now)
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

// take moves items from *queue to req, as next says, remembering their
// refs. Callers hold p.c.mu.
func (p *puller) take(queue *[]recon.Item, req []recon.Item, ix *recon.Index, now time.Time) []recon.Item {
	q := *queue
	keep := q[:0]
	for i, it := range q {
		if len(req) == maxRequestItems {
			keep = append(keep, q[i:]...)
			break
		}
		ref := it.Ref()
		if _, ok := p.requested[ref]; ok || ix.Has(it) {
			continue
		}
		if cl, ok := p.c.by[it.ID]; ok && cl.owner != p && now.Before(cl.until) {
			keep = append(keep, it)
			continue
		}
		p.c.by[it.ID] = claim{owner: p, until: now.Add(claimTTL)}
		if p.requested == nil {
			p.requested = make(map[recon.Ref]struct{})
		}
		p.requested[ref] = struct{}{}
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
