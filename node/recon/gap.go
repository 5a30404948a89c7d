package recon

import (
	"slices"
	"sort"
)

// Gaps. When the peer lists its few items of a range this side holds many
// more of, this side learns at once that the peer lacks most of that range
// (a new laptop lists its handful of items for the whole log), long before
// the splitting rounds have named every item. The mesh uses that to offer
// the peer the items it should fetch first (see Tell).

// maxGaps bounds the ranges a session remembers; past it, every item
// counts as inside a gap (which only makes the mesh offer more).
const maxGaps = 256

// gaps are the ranges, kept sorted and apart: a range that overlaps or
// touches one held merges with it. Ranges come in ascending order within
// one message only; a later round splits a range named before (nesting
// it), and a hostile peer may name any ranges it likes. Kept so, InGap is
// a binary search: the mesh asks it for up to 16,384 items a scan, a
// few scans a session, where a scan of every range cost up to 256
// comparisons an item.
type gaps struct {
	lacks  int
	ranges [][2]Bound // sorted, apart: ranges[i][1] < ranges[i+1][0]
	wide   bool
	probes int // ranges InGap compared items with (the complexity test reads it)
}

func (g *gaps) add(lo, hi *Bound, lacks int) {
	g.lacks += lacks
	if g.wide || cmpBound(lo, hi) >= 0 {
		return
	}
	// The ranges from i on end at or after lo; those before j start at
	// or before hi: [i, j) overlap or touch [lo, hi).
	i := sort.Search(len(g.ranges), func(i int) bool { return cmpBound(&g.ranges[i][1], lo) >= 0 })
	j := sort.Search(len(g.ranges), func(j int) bool { return cmpBound(&g.ranges[j][0], hi) > 0 })
	merged := [2]Bound{*lo, *hi}
	if i < j {
		if cmpBound(&g.ranges[i][0], lo) < 0 {
			merged[0] = g.ranges[i][0]
		}
		if cmpBound(&g.ranges[j-1][1], hi) > 0 {
			merged[1] = g.ranges[j-1][1]
		}
	} else if len(g.ranges) == maxGaps {
		g.wide = true
		g.ranges = nil
		return
	}
	g.ranges = slices.Replace(g.ranges, i, j, merged)
}

// Lacking is how many items, at least, the peer lacks in ranges it listed
// while this side held more than a reply lists (it grows as the session
// goes on).
func (r *Reconciler) Lacking() int { return r.gaps.lacks }

// InGap reports whether it lies in one of those ranges.
func (r *Reconciler) InGap(it Item) bool {
	g := &r.gaps
	if g.wide {
		return true
	}
	k := keyOf(it)
	// The first range that ends after k is the only one that may hold it.
	i := sort.Search(len(g.ranges), func(i int) bool {
		g.probes++
		return g.ranges[i][1].before(&k)
	})
	if i == len(g.ranges) {
		return false
	}
	g.probes++
	return !g.ranges[i][0].before(&k)
}

// Tell records items of this side's index as told to the peer outside the
// reconciliation messages (offered by the mesh), so that Take accepts the
// peer's requests for them. Pass only items the index holds.
func (r *Reconciler) Tell(items []Item) {
	for _, it := range items {
		if _, ok := r.told[it.ID]; !ok {
			r.told[it.ID] = false
		}
	}
}
