package recon

import (
	"fmt"
	"sort"

	"github.com/convene/convene/internal/hugepage"
)

// blockCap is the number of items in a full block: its keys are then
// 12,232 bytes, just under the allocator's 12,288-byte size class.
// Inserting moves on average half a block (about 6 KiB); larger blocks make
// range queries cheaper and inserts dearer.
const blockCap = 278

// block is a sorted run of packed items with their count and id sum cached,
// so that a range query adds whole blocks without reading their items.
//
// The keys are behind a pointer so that a block can use them where they
// already lie: in a saved index mapped from its file (AppendPackedIn),
// whose pages are then only read in when a reconciliation reaches them.
type block struct {
	n    int
	sum  sum
	keys *[blockCap]key
	// keep is what the memory of keys lies in, for a block used in place
	// (AppendPackedIn): while the block is reachable, so is that memory's
	// owner, whose collection releases it.
	keep any
}

func (b *block) recompute() {
	b.sum = sum{}
	for i := range b.n {
		b.sum.add(&b.keys[i])
	}
}

// Index is an ordered set of items with fast counts and fingerprints of
// ranges. It is a list of sorted blocks of up to 278 packed items (44 bytes
// each, no per-item heap object); a full block first lends items to a
// neighbour with room and otherwise splits with a full neighbour two into
// three, so blocks stay about 80% full under random inserts (about 55 bytes
// an item) and completely full after Load (about 45).
//
// Index is not safe for concurrent use. The caller (node/store) guards it
// with a sync.RWMutex: Insert and Load under the write lock, everything else
// under the read lock. A Reconciler takes the read lock itself, once per
// message (see Options.Lock).
type Index struct {
	blocks []*block
	n      int
	total  sum
	// last is a copy of the greatest item, valid when n > 0: appending
	// checks against it without reading a mapped block (AppendPackedIn).
	last    key
	scratch []key // for splits; only touched under the write lock
	// spare: blocks reserved in one allocation (Reserve), taken before
	// any is allocated alone.
	spare []block
}

// Reserve makes room for n more items in blocks allocated at once, with
// their memory advised for huge pages: a saved index of a million items
// read into blocks allocated one by one faulted in 44 MB a 4-KB page at a
// time, a fifth of a start's CPU.
func (ix *Index) Reserve(n int) {
	keys := hugepage.Make[[blockCap]key](n/blockCap + 1)
	ix.spare = make([]block, len(keys))
	for i := range keys {
		ix.spare[i].keys = &keys[i]
	}
}

// newBlock is an empty block, a reserved one if any is left.
func (ix *Index) newBlock() *block {
	if len(ix.spare) > 0 {
		b := &ix.spare[0]
		ix.spare = ix.spare[1:]
		return b
	}
	return &block{keys: new([blockCap]key)}
}

// NewIndex returns an empty index.
func NewIndex() *Index { return &Index{} }

// Len is the number of items.
func (ix *Index) Len() int { return ix.n }

// Digest is the fingerprint of the whole set, in hex: two nodes holding the
// same operations report the same digest.
func (ix *Index) Digest() string { return ix.total.fingerprint(ix.n).String() }

// findBlock returns the block that holds or would hold k: the last block
// whose first key is at or below k, or block 0.
func (ix *Index) findBlock(k *key) int {
	i := sort.Search(len(ix.blocks), func(i int) bool {
		return cmpKey(&ix.blocks[i].keys[0], k) > 0
	})
	if i > 0 {
		i--
	}
	return i
}

// searchBlock returns the position of the first key at or above k in b.
func searchBlock(b *block, k *key) int {
	return sort.Search(b.n, func(i int) bool { return cmpKey(&b.keys[i], k) >= 0 })
}

// Has reports whether it is in the index.
func (ix *Index) Has(it Item) bool {
	if it.Clock.Wall < 0 {
		return false
	}
	k := keyOf(it)
	return ix.hasKey(&k)
}

// Insert adds it and reports whether it was new. It panics if it.Clock.Wall
// is negative.
func (ix *Index) Insert(it Item) bool {
	k := keyOf(it)
	if len(ix.blocks) == 0 {
		ix.blocks = append(ix.blocks, ix.newBlock())
	}
	bi := ix.findBlock(&k)
	b := ix.blocks[bi]
	i := searchBlock(b, &k)
	if i < b.n && b.keys[i] == k {
		return false
	}
	if b.n == blockCap {
		bi, i = ix.makeRoom(bi, i, &k)
		b = ix.blocks[bi]
	}
	copy(b.keys[i+1:b.n+1], b.keys[i:b.n])
	b.keys[i] = k
	b.n++
	b.sum.add(&k)
	ix.total.add(&k)
	if ix.n == 0 || cmpKey(&k, &ix.last) > 0 {
		ix.last = k
	}
	ix.n++
	return true
}

// makeRoom makes room for k in the full block bi, where it would go at
// position pos, and returns the block and position it now goes to, which
// has room.
func (ix *Index) makeRoom(bi, pos int, k *key) (int, int) {
	b := ix.blocks[bi]
	last := bi == len(ix.blocks)-1
	// Appending past the end (new operations have recent clocks): start a
	// new block and leave this one full.
	if last && pos == b.n {
		ix.blocks = append(ix.blocks, ix.newBlock())
		return bi + 1, 0
	}
	if bi > 0 {
		if l := ix.blocks[bi-1]; l.n < blockCap {
			if pos == 0 {
				return bi - 1, l.n
			}
			m := min((blockCap-l.n+1)/2, pos)
			ix.shiftLeft(l, b, m)
			return bi, pos - m
		}
	}
	if !last {
		if r := ix.blocks[bi+1]; r.n < blockCap {
			if pos == b.n {
				return bi + 1, 0
			}
			m := min((blockCap-r.n+1)/2, b.n-pos)
			ix.shiftRight(b, r, m)
			return bi, pos
		}
	}
	if len(ix.blocks) == 1 {
		nb := ix.newBlock()
		half := b.n / 2
		nb.n = copy(nb.keys[:], b.keys[half:b.n])
		b.n = half
		b.recompute()
		nb.recompute()
		ix.insertBlock(bi+1, nb)
		if pos <= half {
			return bi, pos
		}
		return bi + 1, pos - half
	}
	// Both neighbours are full: split this block and one neighbour, two
	// full blocks into three two-thirds full ones.
	lo := bi
	if last {
		lo = bi - 1
	}
	x, y := ix.blocks[lo], ix.blocks[lo+1]
	ix.scratch = append(ix.scratch[:0], x.keys[:x.n]...)
	ix.scratch = append(ix.scratch, y.keys[:y.n]...)
	all := ix.scratch
	nb := ix.newBlock()
	third := len(all) / 3
	x.n = copy(x.keys[:], all[:third])
	y.n = copy(y.keys[:], all[third:2*third])
	nb.n = copy(nb.keys[:], all[2*third:])
	x.recompute()
	y.recompute()
	nb.recompute()
	ix.insertBlock(lo+2, nb)
	// k falls in x, y or nb (it is below x only when x is block 0), all of
	// which have room now.
	bi = ix.findBlock(k)
	return bi, searchBlock(ix.blocks[bi], k)
}

func (ix *Index) insertBlock(at int, b *block) {
	ix.blocks = append(ix.blocks, nil)
	copy(ix.blocks[at+1:], ix.blocks[at:])
	ix.blocks[at] = b
}

// shiftLeft moves the first k items of b to the end of l.
func (ix *Index) shiftLeft(l, b *block, k int) {
	for i := range k {
		l.sum.add(&b.keys[i])
		b.sum.sub(&b.keys[i])
	}
	copy(l.keys[l.n:], b.keys[:k])
	l.n += k
	copy(b.keys[:], b.keys[k:b.n])
	b.n -= k
}

// shiftRight moves the last k items of b to the start of r.
func (ix *Index) shiftRight(b, r *block, k int) {
	for i := b.n - k; i < b.n; i++ {
		r.sum.add(&b.keys[i])
		b.sum.sub(&b.keys[i])
	}
	copy(r.keys[k:r.n+k], r.keys[:r.n])
	copy(r.keys[:k], b.keys[b.n-k:b.n])
	r.n += k
	b.n -= k
}

// Load replaces the contents of the index with items, which must be sorted
// in ascending order without duplicates (as a store scan yields them). It
// runs in linear time and fills blocks completely. On error the index is
// unchanged.
func (ix *Index) Load(items []Item) error {
	fresh := NewIndex()
	fresh.Reserve(len(items))
	buf := make([]byte, 0, min(len(items), blockCap)*keyLen)
	for i, it := range items {
		if it.Clock.Wall < 0 {
			return fmt.Errorf("recon: load: item %d (%s) has a negative clock", i, it)
		}
		k := keyOf(it)
		if buf = append(buf, k[:]...); len(buf) == cap(buf) || i == len(items)-1 {
			if err := fresh.AppendPacked(buf); err != nil {
				return fmt.Errorf("recon: load: %w", err)
			}
			buf = buf[:0]
		}
	}
	ix.blocks, ix.n, ix.total, ix.last, ix.spare = fresh.blocks, fresh.n, fresh.total, fresh.last, fresh.spare
	return nil
}

// pos is a position in the index: an item's block and offset, or the end
// (block len(blocks), offset 0). Positions are only valid until the next
// Insert or Load.
type pos struct{ b, i int }

// seek returns the position of the first item at or after bd.
func (ix *Index) seek(bd *Bound) pos {
	if bd.inf {
		return pos{len(ix.blocks), 0}
	}
	if ix.n == 0 {
		return pos{len(ix.blocks), 0}
	}
	// First block whose last key is at or above the bound.
	bi := sort.Search(len(ix.blocks), func(i int) bool {
		b := ix.blocks[i]
		return b.n > 0 && cmpKey(&b.keys[b.n-1], &bd.k) >= 0
	})
	if bi == len(ix.blocks) {
		return pos{bi, 0}
	}
	return ix.norm(pos{bi, searchBlock(ix.blocks[bi], &bd.k)})
}

// norm moves a position at the end of a block (or in an empty block) to the
// start of the next non-empty one.
func (ix *Index) norm(p pos) pos {
	for p.b < len(ix.blocks) && p.i >= ix.blocks[p.b].n {
		p = pos{p.b + 1, 0}
	}
	return p
}

// at returns the key at p, which must not be the end.
func (ix *Index) at(p pos) *key { return &ix.blocks[p.b].keys[p.i] }

// span counts and sums the items in [p, q).
func (ix *Index) span(p, q pos) (int, sum) {
	var n int
	var s sum
	for p.b < q.b {
		b := ix.blocks[p.b]
		if p.i == 0 {
			n += b.n
			s.addSum(&b.sum)
		} else {
			n += b.n - p.i
			for i := p.i; i < b.n; i++ {
				s.add(&b.keys[i])
			}
		}
		p = pos{p.b + 1, 0}
	}
	if p.b < len(ix.blocks) {
		b := ix.blocks[p.b]
		for i := p.i; i < q.i; i++ {
			s.add(&b.keys[i])
		}
		n += q.i - p.i
	}
	return n, s
}

// advance moves p forward by k items, adding them to s.
func (ix *Index) advance(p pos, k int, s *sum) pos {
	for k > 0 {
		b := ix.blocks[p.b]
		left := b.n - p.i
		if k < left {
			for i := p.i; i < p.i+k; i++ {
				s.add(&b.keys[i])
			}
			return pos{p.b, p.i + k}
		}
		if p.i == 0 {
			s.addSum(&b.sum)
		} else {
			for i := p.i; i < b.n; i++ {
				s.add(&b.keys[i])
			}
		}
		k -= left
		p = ix.norm(pos{p.b + 1, 0})
	}
	return p
}

// next returns the position after p, which must not be the end.
func (ix *Index) next(p pos) pos { return ix.norm(pos{p.b, p.i + 1}) }

// Count is the number of items in [lo, hi).
func (ix *Index) Count(lo, hi Bound) int {
	n, _ := ix.rangeSum(&lo, &hi)
	return n
}

// Fingerprint is the fingerprint of the items in [lo, hi), and their number.
func (ix *Index) Fingerprint(lo, hi Bound) (Fingerprint, int) {
	n, s := ix.rangeSum(&lo, &hi)
	return s.fingerprint(n), n
}

func (ix *Index) rangeSum(lo, hi *Bound) (int, sum) {
	if cmpBound(lo, hi) >= 0 {
		return 0, sum{}
	}
	if !lo.inf && lo.k == (key{}) && hi.inf {
		return ix.n, ix.total
	}
	return ix.span(ix.seek(lo), ix.seek(hi))
}

// Range calls fn for each item in [lo, hi) in order, until fn returns false.
func (ix *Index) Range(lo, hi Bound, fn func(Item) bool) {
	if cmpBound(&lo, &hi) >= 0 {
		return
	}
	for p, q := ix.seek(&lo), ix.seek(&hi); p != q; p = ix.next(p) {
		if !fn(ix.at(p).item()) {
			return
		}
	}
}

// keys appends the keys in [p, q) to dst.
func (ix *Index) keys(dst []key, p, q pos) []key {
	for ; p != q; p = ix.next(p) {
		dst = append(dst, *ix.at(p))
	}
	return dst
}

// prev returns the position before p, which must not be the first item.
func (ix *Index) prev(p pos) pos {
	if p.i > 0 {
		return pos{p.b, p.i - 1}
	}
	b := p.b - 1
	for ix.blocks[b].n == 0 {
		b--
	}
	return pos{b, ix.blocks[b].n - 1}
}

func (ix *Index) hasKey(k *key) bool {
	if ix.n == 0 {
		return false
	}
	b := ix.blocks[ix.findBlock(k)]
	i := searchBlock(b, k)
	return i < b.n && b.keys[i] == *k
}

// KeySize is the size of one item in the packed form that AppendPacked
// reads and Packed writes: wall and logical clock big-endian, then the id.
const KeySize = keyLen

// Last returns the greatest item, if the index holds any.
func (ix *Index) Last() (Item, bool) {
	if ix.n == 0 {
		return Item{}, false
	}
	return ix.last.item(), true
}
