package crdt

import "math/bits"

// opLists grows the lists of operations a state fills while it is loaded
// in order (a snapshot's loader, a rebuild's builder). Appending a list
// at a time leaves each outgrown array to the collector, which is off
// during a load: for a million operations, 10 MB of the start's peak was
// such arrays. Here an outgrown array whose length is a power of two is
// kept for the next list to reach that length, so the arrays a load
// leaves unused are at most a few of each length.
//
// Only lists the state alone holds may grow here (nothing derived from
// them exists yet while a state loads), since an outgrown array is
// cleared and handed out again.
type opLists struct {
	free [opListClasses][][]*Op // free[c]: outgrown arrays of length 1<<c
}

// opListClasses: arrays up to 1<<(opListClasses-1) are kept; longer lists
// are few and grow by append.
const opListClasses = 11

// grow is append(list, o) for a list whose array is full.
func (l *opLists) grow(list []*Op, o *Op) []*Op {
	c := bits.Len(uint(cap(list))) // the next power of two above cap
	if c >= opListClasses {
		return append(list, o)
	}
	var next []*Op
	if f := l.free[c]; len(f) > 0 {
		next, l.free[c] = f[len(f)-1], f[:len(f)-1]
	} else {
		next = make([]*Op, 0, 1<<c)
	}
	next = append(append(next[:0], list...), o)
	if k := cap(list); k > 0 && k&(k-1) == 0 {
		old := list[:k]
		clear(old)
		kc := bits.Len(uint(k)) - 1 // k is 1<<kc, below 1<<c
		l.free[kc] = append(l.free[kc], old[:0])
	}
	return next
}

// appendOp is append(list, o) for the state's lists, through lists
// while the state is loaded in order.
func (s *State) appendOp(list []*Op, o *Op) []*Op {
	if len(list) < cap(list) || s.lists == nil || !s.inOrder {
		return append(list, o)
	}
	return s.lists.grow(list, o)
}
