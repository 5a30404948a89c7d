package recon

// Gaps. When the peer lists its few items of a range this side holds many
// more of, this side learns at once that the peer lacks most of that range
// (a new laptop lists its handful of items for the whole log), long before
// the splitting rounds have named every item. The mesh uses that to offer
// the peer the items it should fetch first (see Tell).

// maxGaps bounds the ranges a session remembers; past it, every item
// counts as inside a gap (which only makes the mesh offer more).
const maxGaps = 256

type gaps struct {
	lacks  int
	ranges [][2]Bound
	wide   bool
}

func (g *gaps) add(lo, hi *Bound, lacks int) {
	g.lacks += lacks
	if len(g.ranges) == maxGaps {
		g.wide = true
		return
	}
	g.ranges = append(g.ranges, [2]Bound{*lo, *hi})
}

// Lacking is how many items, at least, the peer lacks in ranges it listed
// while this side held more than a reply lists (it grows as the session
// goes on).
func (r *Reconciler) Lacking() int { return r.gaps.lacks }

// InGap reports whether it lies in one of those ranges.
func (r *Reconciler) InGap(it Item) bool {
	if r.gaps.wide {
		return true
	}
	k := keyOf(it)
	for i := range r.gaps.ranges {
		lo, hi := &r.gaps.ranges[i][0], &r.gaps.ranges[i][1]
		if !lo.before(&k) && hi.before(&k) {
			return true
		}
	}
	return false
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
