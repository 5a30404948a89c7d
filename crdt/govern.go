package crdt

import (
	"encoding/binary"
	"slices"
)

// The bodies by which facilitators govern a gathering: removal of an
// identity, the gathering's seating and the seat of each group. (Hiding is
// HideBody, whose target may be any content.)

// Seating modes of a gathering.
const (
	SeatingOpen   = "open"   // every group acts and counts (the default)
	SeatingSeated = "seated" // only seated groups act and count
)

const (
	// MaxKeep is the most operations one removal keeps. With the reason at
	// its limit, a removal keeping MaxKeep operations is under 28 KiB, so
	// that padded to its 4 KiB bucket (seal.go) and sealed it stays under
	// MaxEnvelopeSize. An
	// identity with more operations is removed by several removals, each
	// keeping a part: what counts of it is what any counting removal of it
	// keeps (see RemovalBodies).
	MaxKeep   = 3400
	maxReason = 500
)

// RemovalBody removes an identity. Keep names, by KeepPrefix, the
// operations of that identity its author's node held: those still count,
// and no other operation of the identity counts, whatever its clock says,
// so that a removed laptop cannot backdate its way back in.
type RemovalBody struct {
	Identity IdentityID `json:"identity"`
	Reason   string     `json:"reason,omitempty"`
	Keep     []uint64   `json:"keep"` // sorted, distinct
}

// SeatingBody sets the gathering's seating (last writer wins).
type SeatingBody struct {
	Seating string `json:"seating"`
}

// SeatBody seats or unseats a group (last writer wins per group).
type SeatBody struct {
	Group  OpID `json:"group"`
	Seated bool `json:"seated"`
}

func (*RemovalBody) Kind() Kind { return KindRemoval }
func (*SeatingBody) Kind() Kind { return KindSeating }
func (*SeatBody) Kind() Kind    { return KindSeat }

// KeepPrefix is how a removal names an operation: the first 8 bytes of its
// id, big-endian, so that sorted prefixes are sorted ids. Making an
// operation whose prefix equals a kept one costs about 2^64 hashes.
func KeepPrefix(id OpID) uint64 { return binary.BigEndian.Uint64(id[:8]) }

func (b *RemovalBody) validate() error {
	if err := checkText("reason", b.Reason, maxReason, true); err != nil {
		return err
	}
	if len(b.Keep) > MaxKeep {
		return invalid("a removal keeps at most %d operations", MaxKeep)
	}
	for i := 1; i < len(b.Keep); i++ {
		if b.Keep[i-1] >= b.Keep[i] {
			return invalid("kept operations must be sorted and distinct")
		}
	}
	return nil
}

// keeps reports whether the removal keeps operation id.
func (b *RemovalBody) keeps(id OpID) bool {
	_, ok := slices.BinarySearch(b.Keep, KeepPrefix(id))
	return ok
}

func (b *SeatingBody) validate() error {
	if b.Seating != SeatingOpen && b.Seating != SeatingSeated {
		return invalid("seating must be open or seated")
	}
	return nil
}

func (b *SeatBody) validate() error { return nil }

func (b *RemovalBody) encode(w *writer) {
	w.id(b.Identity)
	w.str(b.Reason)
	w.uvarint(uint64(len(b.Keep)))
	for _, k := range b.Keep {
		w.b = binary.BigEndian.AppendUint64(w.b, k)
	}
}

func (b *RemovalBody) decode(r *reader) {
	b.Identity = r.id()
	b.Reason = r.str(maxReason)
	n := r.count(MaxKeep, 8)
	if n == 0 {
		return
	}
	b.Keep = make([]uint64, n)
	for i := range b.Keep {
		if k := r.take(8); k != nil {
			b.Keep[i] = binary.BigEndian.Uint64(k)
		}
	}
}

func (b *SeatingBody) encode(w *writer) { w.str(b.Seating) }
func (b *SeatingBody) decode(r *reader) { b.Seating = r.str(len(SeatingSeated)) }

func (b *SeatBody) encode(w *writer) {
	w.id(b.Group)
	w.bool(b.Seated)
}

func (b *SeatBody) decode(r *reader) {
	b.Group = r.id()
	b.Seated = r.bool()
}

// RemovalBodies returns the removals of id that keep every operation of id
// this state holds: one, or several when it holds more than MaxKeep.
// Facilitators' nodes make these; Check each before sealing it.
func (s *State) RemovalBodies(id IdentityID, reason string) []*RemovalBody {
	s.mu.Lock()
	var keep []uint64
	s.ops.each(func(o *Op) {
		if o.Author() == id {
			keep = append(keep, KeepPrefix(o.ID))
		}
	})
	s.mu.Unlock()
	slices.Sort(keep)
	keep = slices.Compact(keep)
	out := []*RemovalBody{}
	for {
		n := min(len(keep), MaxKeep)
		b := &RemovalBody{Identity: id, Reason: reason}
		if n > 0 {
			b.Keep = keep[:n:n]
		}
		out = append(out, b)
		keep = keep[n:]
		if len(keep) == 0 {
			return out
		}
	}
}
