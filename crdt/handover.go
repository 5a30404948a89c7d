package crdt

import (
	"encoding/binary"
	"fmt"
	"slices"
	"sync"
)

// Hand-over of the next hub ticket (issue 10). A hub holds tickets, not
// seal keys, so it cannot read the rotation operations it relays. Each
// rotation carries the next epoch's admission key sealed under a key
// derived from the current admission key (RotationBody.Next); a member
// hands a hub that box with the epoch and commit it is bound to. Whoever
// made it held the current admission key, so a hub that opens it with the
// ticket it holds knows the new ticket chains from its own: no signature
// or state is needed. (A removed member who knew the old admission key can
// make one too; it gets the hub to store junk tagged for the new epoch,
// which members refuse: the ticket's known limit.)

// HandoverSize is the fixed size of an encoded Handover: epoch (8 bytes,
// big-endian), commit (16), sealed next admission key (48).
const HandoverSize = 8 + 16 + nextBox

// Handover is what a hub needs from one rotation to hold its epoch.
type Handover struct {
	Epoch  uint64
	Commit [16]byte
	Next   [nextBox]byte
}

// Handover is the hand-over of the epoch b starts.
func (b *RotationBody) Handover() Handover {
	return Handover{Epoch: b.Epoch, Commit: b.Commit, Next: b.Next}
}

// Encode appends the fixed-size encoding.
func (h Handover) Encode(b []byte) []byte {
	b = binary.BigEndian.AppendUint64(b, h.Epoch)
	b = append(b, h.Commit[:]...)
	return append(b, h.Next[:]...)
}

// DecodeHandover reads exactly one encoded Handover.
func DecodeHandover(b []byte) (Handover, error) {
	var h Handover
	if len(b) != HandoverSize {
		return h, fmt.Errorf("%w: hand-over of %d bytes, want %d", ErrMalformed, len(b), HandoverSize)
	}
	h.Epoch = binary.BigEndian.Uint64(b)
	if h.Epoch == 0 {
		return h, fmt.Errorf("%w: a hand-over names an epoch after 0", ErrMalformed)
	}
	copy(h.Commit[:], b[8:24])
	copy(h.Next[:], b[24:])
	return h, nil
}

// NextTicket is what a hub holding the ticket of the epoch before b learns
// from b: the ticket of b's epoch.
func (t Ticket) NextTicket(b *RotationBody) (Ticket, error) { return t.Open(b.Handover()) }

// Open opens a hand-over with t, the ticket of the epoch before it.
func (t Ticket) Open(h Handover) (Ticket, error) {
	if h.Epoch != t.Epoch+1 {
		return Ticket{}, fmt.Errorf("%w: hand-over to epoch %d, ticket of epoch %d", ErrEpoch, h.Epoch, t.Epoch)
	}
	aead := nextAEAD(t.Key)
	key, err := aead.Open(nil, nextNonce(h.Commit), h.Next[:], nil)
	if err != nil {
		return Ticket{}, fmt.Errorf("%w: next ticket does not open", ErrSealed)
	}
	nt := Ticket{Gathering: t.Gathering, Epoch: h.Epoch}
	copy(nt.Key[:], key)
	return nt, nil
}

// Tickets are the tickets a hub holds for one gathering: the one it was
// started with and those handed over since, several per epoch after
// concurrent rotations. It admits operations of any of them, and is safe
// for concurrent use (the pipeline reads it while a hand-over adds).
type Tickets struct {
	mu   sync.RWMutex
	g    GatheringID
	list []Ticket // by epoch, then as added
	tags taggers  // for CheckAdmission
}

var (
	_ Admitter  = (*Tickets)(nil)
	_ tagPooler = (*Tickets)(nil)
)

func (ts *Tickets) tagPool() *taggers { return &ts.tags }

// NewTickets holds first and more, which must all be of first's gathering.
func NewTickets(first Ticket, more ...Ticket) (*Tickets, error) {
	ts := &Tickets{g: first.Gathering}
	for _, t := range append([]Ticket{first}, more...) {
		if _, err := ts.Add(t); err != nil {
			return nil, err
		}
	}
	return ts, nil
}

// Add holds t; it reports whether t was new.
func (ts *Tickets) Add(t Ticket) (bool, error) {
	if t.Gathering != ts.g {
		return false, fmt.Errorf("%w: ticket of %s, not %s", ErrForeign, t.Gathering, ts.g)
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if slices.Contains(ts.list, t) {
		return false, nil
	}
	i, _ := slices.BinarySearchFunc(ts.list, t.Epoch+1, func(x Ticket, e uint64) int {
		if x.Epoch < e {
			return -1
		}
		return 1
	})
	ts.list = slices.Insert(ts.list, i, t)
	return true, nil
}

// List returns the tickets held, by epoch.
func (ts *Tickets) List() []Ticket {
	ts.mu.RLock()
	defer ts.mu.RUnlock()
	return slices.Clone(ts.list)
}

// Newest is the newest epoch held.
func (ts *Tickets) Newest() uint64 {
	ts.mu.RLock()
	defer ts.mu.RUnlock()
	return ts.list[len(ts.list)-1].Epoch
}

// Take opens hand-overs in epoch order, each with a ticket of the epoch
// before it (held or opened by an earlier one), and holds what opens. It
// returns the tickets new to ts; what does not open is ignored (a peer's
// junk, or a chain from a ticket this hub never held).
func (ts *Tickets) Take(hs []Handover) []Ticket {
	hs = slices.Clone(hs)
	slices.SortStableFunc(hs, func(a, b Handover) int {
		switch {
		case a.Epoch < b.Epoch:
			return -1
		case a.Epoch > b.Epoch:
			return 1
		}
		return 0
	})
	var added []Ticket
	for _, h := range hs {
		for _, t := range ts.List() {
			if t.Epoch+1 != h.Epoch {
				continue
			}
			nt, err := t.Open(h)
			if err != nil {
				continue
			}
			if ok, _ := ts.Add(nt); ok {
				added = append(added, nt)
			}
			break
		}
	}
	return added
}

func (ts *Tickets) gathering() GatheringID { return ts.g }

func (ts *Tickets) admissionKeys(epoch uint64) [][32]byte {
	ts.mu.RLock()
	defer ts.mu.RUnlock()
	var out [][32]byte
	for _, t := range ts.list {
		if t.Epoch == epoch {
			out = append(out, t.Key)
		}
	}
	return out
}
