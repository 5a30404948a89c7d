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
// table sorted by id prefix, built once when the snapshot is read: a
// million of them take 12 bytes each there, against about 35 in a map, and
// sorting them costs a fraction of inserting them into a map one by one.
// Operations applied since go to an idMap (idmap.go), keyed by the first
// 8 bytes of the id. The table and the map never hold the same id.
type opIndex struct {
	keys []uint64 // the table's id prefixes, ascending
	at   []uint32 // at[i]: the index in all of the operation whose prefix is keys[i]
	all  []Op     // the table's operations, as the snapshot listed them

	m idMap[Op, *Op]
}

func idPrefix(id OpID) uint64 { return binary.LittleEndian.Uint64(id[:8]) }

func (o *Op) opID() OpID { return o.ID }

func (x *opIndex) get(id OpID) *Op {
	if o := x.m.get(id); o != nil {
		return o
	}
	return x.tableGet(idPrefix(id), id)
}

// tableGet finds id, whose prefix is k, in the table.
func (x *opIndex) tableGet(k uint64, id OpID) *Op {
	i, _ := slices.BinarySearch(x.keys, k)
	for ; i < len(x.keys) && x.keys[i] == k; i++ {
		if o := &x.all[x.at[i]]; o.ID == id {
			return o
		}
	}
	return nil
}

// put adds an operation whose id get does not find.
func (x *opIndex) put(o *Op) { x.m.put(o) }

func (x *opIndex) len() int { return len(x.keys) + x.m.len() }

// each calls fn with every operation, in no particular order.
func (x *opIndex) each(fn func(*Op)) {
	for i := range x.all {
		fn(&x.all[i])
	}
	x.m.each(fn)
}

// setTable makes all the table of an index that holds nothing else yet.
// It reports false if an id repeats. The prefixes of SHA-256 ids spread
// evenly, so a counting pass over their top 16 bits puts each operation
// within a few places of where it belongs, and each bucket is sorted alone.
func (x *opIndex) setTable(all []Op) bool {
	const bits = 16
	count := make([]uint32, 1<<bits+1)
	for i := range all {
		count[idPrefix(all[i].ID)>>(64-bits)+1]++
	}
	for b := 1; b < len(count); b++ {
		count[b] += count[b-1]
	}
	keys := hugepage.Make[uint64](len(all))
	at := hugepage.Make[uint32](len(all))
	next := slices.Clone(count)
	for i := range all {
		k := idPrefix(all[i].ID)
		j := next[k>>(64-bits)]
		next[k>>(64-bits)]++
		keys[j], at[j] = k, uint32(i)
	}
	for b := 0; b+1 < len(count); b++ {
		lo, hi := count[b], count[b+1]
		if hi-lo < 2 {
			continue
		}
		// Sorted by key, then id, so that equal ids end up side by side.
		type entry struct {
			k uint64
			i uint32
		}
		var buf [32]entry
		es := buf[:0]
		for j := lo; j < hi; j++ {
			es = append(es, entry{keys[j], at[j]})
		}
		slices.SortFunc(es, func(a, b entry) int {
			if a.k != b.k {
				if a.k < b.k {
					return -1
				}
				return 1
			}
			return bytes.Compare(all[a.i].ID[:], all[b.i].ID[:])
		})
		for j, e := range es {
			keys[lo+uint32(j)], at[lo+uint32(j)] = e.k, e.i
		}
		for j := lo + 1; j < hi; j++ {
			if all[at[j]].ID == all[at[j-1]].ID {
				return false
			}
		}
	}
	x.keys, x.at, x.all = keys, at, all
	return true
}
