package crdt

import (
	"bytes"
	"encoding/binary"
	"slices"

	"github.com/convene/convene/internal/hugepage"
)

// opIndex maps operation ids to operations.
//
// The operations a snapshot brings (nearly all of a large state) sit in a
// table sorted by id, built once when the snapshot is read: a million of
// them take a little over 4 bytes each there, against about 35 in a map,
// and sorting them costs a fraction of inserting them into a map one by
// one. The table keeps no copy of the ids: SHA-256 ids spread evenly, so a
// directory by their top bits leaves about eight operations to search,
// read where they lie. Operations applied since go to an idMap
// (idmap.go), keyed by the first 8 bytes of the id. The table and the map
// never hold the same id.
type opIndex struct {
	// dir[b] is where the operations whose id prefix has b as its top
	// bits start in at; dir[len(dir)-1] is len(at).
	dir  []uint32
	bits uint
	at   []uint32 // indexes into all, in id order (cmpTableID)
	all  []Op     // the table's operations, as the snapshot listed them

	m idMap[Op, *Op]
}

func idPrefix(id OpID) uint64 { return binary.LittleEndian.Uint64(id[:8]) }

// cmpTableID is the table's order: by prefix, then by the whole id.
func cmpTableID(a, b *OpID) int {
	if pa, pb := idPrefix(*a), idPrefix(*b); pa != pb {
		if pa < pb {
			return -1
		}
		return 1
	}
	return bytes.Compare(a[:], b[:])
}

// dirBits is how many top bits of the prefix pick a directory entry for
// n operations: about eight operations an entry, at least 2^8 entries.
func dirBits(n int) uint {
	bits := uint(8)
	for bits < 28 && n>>bits > 8 {
		bits++
	}
	return bits
}

func (o *Op) opID() OpID { return o.ID }

func (x *opIndex) get(id OpID) *Op {
	if o := x.m.get(id); o != nil {
		return o
	}
	return x.tableGet(id)
}

// tableGet finds id in the table.
func (x *opIndex) tableGet(id OpID) *Op {
	if len(x.at) == 0 {
		return nil
	}
	b := idPrefix(id) >> (64 - x.bits)
	at := x.at[x.dir[b]:x.dir[b+1]]
	lo, hi := 0, len(at)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		o := &x.all[at[mid]]
		switch c := cmpTableID(&o.ID, &id); {
		case c == 0:
			return o
		case c < 0:
			lo = mid + 1
		default:
			hi = mid
		}
	}
	return nil
}

// put adds an operation whose id get does not find.
func (x *opIndex) put(o *Op) { x.m.put(o) }

func (x *opIndex) len() int { return len(x.at) + x.m.len() }

// each calls fn with every operation, in no particular order.
func (x *opIndex) each(fn func(*Op)) {
	for i := range x.all {
		fn(&x.all[i])
	}
	x.m.each(fn)
}

// setTable makes all the table of an index that holds nothing else yet.
// It reports false if an id repeats. A counting pass over the prefixes'
// top bits puts each operation in its directory entry, and each entry's
// few operations are sorted alone.
func (x *opIndex) setTable(all []Op) bool {
	bits := dirBits(len(all))
	// Counted into each entry's end, then filled backwards, which leaves
	// each entry at its start.
	dir := make([]uint32, 1<<bits+1)
	for i := range all {
		dir[idPrefix(all[i].ID)>>(64-bits)]++
	}
	for b := 1; b < len(dir); b++ {
		dir[b] += dir[b-1]
	}
	at := hugepage.Make[uint32](len(all))
	for i := len(all) - 1; i >= 0; i-- {
		b := idPrefix(all[i].ID) >> (64 - bits)
		dir[b]--
		at[dir[b]] = uint32(i)
	}
	// Each entry's few operations are sorted by their prefixes, read once
	// each into a small array (an insertion sort), and by the whole id
	// only where prefixes tie: comparing ids where they lie read each
	// operation a few times over, a sixth more of a million's start.
	type entry struct {
		k uint64
		i uint32
	}
	less := func(a, b entry) int {
		if a.k != b.k {
			if a.k < b.k {
				return -1
			}
			return 1
		}
		return cmpTableID(&all[a.i].ID, &all[b.i].ID)
	}
	var buf [64]entry
	for b := 0; b+1 < len(dir); b++ {
		run := at[dir[b]:dir[b+1]]
		if len(run) < 2 {
			continue
		}
		es := buf[:0]
		for _, i := range run {
			es = append(es, entry{idPrefix(all[i].ID), i})
		}
		if len(es) > len(buf) {
			// Far more than an entry holds on average: ids made to share
			// their top bits. Sorted as any slice, not by insertion.
			slices.SortFunc(es, less)
		} else {
			for j := 1; j < len(es); j++ {
				for m := j; m > 0 && less(es[m], es[m-1]) < 0; m-- {
					es[m], es[m-1] = es[m-1], es[m]
				}
			}
		}
		for j, e := range es {
			run[j] = e.i
			if j > 0 && e.k == es[j-1].k && all[e.i].ID == all[es[j-1].i].ID {
				return false
			}
		}
	}
	x.dir, x.bits, x.at, x.all = dir, bits, at, all
	return true
}
