package node

import (
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/internal/atomicfile"
)

// Backdating shown (issue 10, item 6). The rules cannot tell a backdated
// operation from one made offline, so this node watches what arrives and
// flags to facilitators, with both times, an operation from elsewhere that
//
//   - displaced: took a place (a cap slot, an event seat) from something
//     this node was already showing in it; or
//   - late: arrived more than LateAfter after its own clock, although
//     operations of its author had reached this node in between (more
//     than LateAfter before this one): its author was in touch, and an
//     honest laptop sends what it makes within a reconciliation round.
//
// This is local metadata, not part of the rules: two nodes may flag
// different operations, and a flag changes no document. Every operation's
// first arrival is appended to DATA/arrivals (16 bytes: the first 8 bytes
// of its id, the arrival in Unix ms); flags and the authors' recent
// contact times live in DATA/flags.json.

// LateAfter is how much later than its clock an operation may arrive from
// an author in touch before it is flagged: well beyond a reconciliation
// round (30 s) and a clock that is a few minutes off.
const LateAfter = 10 * time.Minute

// Reasons of a flag.
const (
	FlagDisplaced = "displaced"
	FlagLate      = "late"
)

// Flag is an operation shown to facilitators as possibly backdated.
type Flag struct {
	Op      crdt.OpID       `json:"op"`
	Kind    crdt.Kind       `json:"kind"`
	Author  crdt.IdentityID `json:"author"`
	Reason  string          `json:"reason"`
	Clock   time.Time       `json:"clock"`   // what the operation claims
	Arrived time.Time       `json:"arrived"` // when this node first received it
	Session crdt.OpID       `json:"session,omitzero"`
	Event   crdt.OpID       `json:"event,omitzero"`
	// Displaced is what it pushed out of its place (displaced only): a
	// proposal now waiting, or an identity now on the waitlist.
	Displaced string `json:"displaced,omitempty"`
	// Contact is when an earlier-arrived operation of the same author
	// reached this node (late only).
	Contact *time.Time `json:"contact,omitempty"`
}

const (
	arrivalsFile = "arrivals"
	flagsFile    = "flags.json"
	// maxContacts bounds the spans of contact kept per author; the oldest
	// go first.
	maxContacts = 1024
	// maxFlags bounds the flags kept; the oldest go first.
	maxFlags = 1000
)

// flagger watches operations as they are applied. Its methods run with the
// node's state lock held for writing (see Node.apply).
type flagger struct {
	dir string // "" in memory: nothing is written

	mu       sync.Mutex
	flags    []Flag
	contacts map[crdt.IdentityID][]span // when each author's operations arrived, ascending
	dirty    bool
	arrivals *os.File

	// A flag is saved by a goroutine of its own, kicked by judge: judge runs
	// under the node's state lock, inside the ingest pipeline's commit, and
	// a crash-safe write costs two fsyncs. During a heal or a join, where
	// every batch may displace something, saving in line doubled the
	// synced writes of the ingest path.
	kick  chan struct{}
	saver sync.WaitGroup
}

// flagsState is flags.json.
type flagsState struct {
	Flags    []Flag                     `json:"flags"`
	Contacts map[crdt.IdentityID][]span `json:"contacts"`
}

// span is a run of consecutive minutes (Unix ms of each minute's start, both
// included) in every one of which operations of an author arrived.
type span [2]int64

// open reads DATA/flags.json and opens DATA/arrivals for appending. A
// flags file that cannot be read is reported and left to be overwritten:
// the node starts with no flags rather than not at all.
func (f *flagger) open(dir string) error {
	f.contacts = make(map[crdt.IdentityID][]span)
	f.dir = dir
	if dir == "" {
		return nil
	}
	f.kick = make(chan struct{}, 1)
	f.saver.Go(f.saveLoop)
	var err error
	if f.arrivals, err = os.OpenFile(filepath.Join(dir, arrivalsFile), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600); err != nil {
		err = fmt.Errorf("open %s: %w", arrivalsFile, err)
	}
	b, rerr := os.ReadFile(filepath.Join(dir, flagsFile))
	if errors.Is(rerr, fs.ErrNotExist) {
		return err
	}
	var st flagsState
	if rerr == nil {
		rerr = json.Unmarshal(b, &st)
	}
	if rerr != nil {
		return errors.Join(err, fmt.Errorf("read %s: %w", flagsFile, rerr))
	}
	f.flags = st.Flags
	if st.Contacts != nil {
		f.contacts = st.Contacts
	}
	return err
}

// close saves the contact times and closes the arrivals file.
func (f *flagger) close() error {
	if f.kick != nil {
		close(f.kick)
		f.saver.Wait()
		f.kick = nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	err := f.saveLocked()
	if f.arrivals != nil {
		err = errors.Join(err, f.arrivals.Close())
		f.arrivals = nil
	}
	return err
}

// saveLoop saves the flags whenever judge kicks it, until close.
func (f *flagger) saveLoop() {
	for range f.kick {
		f.mu.Lock()
		if !f.dirty {
			f.mu.Unlock()
			continue
		}
		b, err := json.Marshal(flagsState{Flags: f.flags, Contacts: f.contacts})
		f.dirty = false
		f.mu.Unlock()
		if err == nil {
			err = atomicfile.WriteFile(filepath.Join(f.dir, flagsFile), 0o600, b)
		}
		if err != nil {
			// Left for the next kick or for close.
			f.mu.Lock()
			f.dirty = true
			f.mu.Unlock()
		}
	}
}

func (f *flagger) saveLocked() error {
	if f.dir == "" || !f.dirty {
		return nil
	}
	b, err := json.Marshal(flagsState{Flags: f.flags, Contacts: f.contacts})
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(f.dir, flagsFile), 0o600, b); err != nil {
		return err
	}
	f.dirty = false
	return nil
}

// places is what a batch may take places in, as shown before it.
type places struct {
	sessions map[crdt.OpID]map[crdt.OpID]bool       // shown proposals
	events   map[crdt.OpID]map[crdt.IdentityID]bool // seated registrations
}

// watch notes, before ops from elsewhere are applied, the places they
// could take: the proposals shown in their sessions and the seats taken
// at their events. Only for an operation that sorts before one of its kind
// that its session or event holds (crdt.State.MayDisplace): one that sorts
// after them all, as an operation made and sent at once does, takes no
// place, and watching costs assembling the document or the event before
// and after the batch.
func (f *flagger) watch(st *crdt.State, ops []crdt.Op, local bool) *places {
	if local {
		return nil
	}
	p := &places{sessions: map[crdt.OpID]map[crdt.OpID]bool{}, events: map[crdt.OpID]map[crdt.IdentityID]bool{}}
	for _, op := range ops {
		switch b := op.Body.(type) {
		case *crdt.ProposalBody:
			if _, done := p.sessions[b.Session]; !done && !st.Has(op.ID) && st.MayDisplace(op) {
				shown := map[crdt.OpID]bool{}
				if doc, ok := st.Document(b.Session); ok {
					for _, pr := range doc.Proposals {
						shown[pr.ID] = true
					}
				}
				p.sessions[b.Session] = shown
			}
		case *crdt.ParticipationBody:
			if _, done := p.events[b.Event]; !done && b.Status == crdt.Going && !st.Has(op.ID) && st.MayDisplace(op) {
				seated := map[crdt.IdentityID]bool{}
				if ev, ok := st.Event(b.Event); ok {
					for _, pt := range ev.Participants {
						if pt.Status == crdt.Going && !pt.Waitlisted {
							seated[pt.Identity] = true
						}
					}
				}
				p.events[b.Event] = seated
			}
		}
	}
	return p
}

// judge runs once ops are applied: it records their arrival and flags
// those from elsewhere that took a watched place or came late.
func (f *flagger) judge(st *crdt.State, before *places, ops []crdt.Op, fresh []bool, local bool, now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	nowMS := now.UnixMilli()
	f.record(ops, fresh, nowMS)
	if local {
		return
	}
	var flags []Flag
	flagged := map[crdt.OpID]bool{}
	add := func(fl Flag) {
		if !flagged[fl.Op] {
			flagged[fl.Op] = true
			flags = append(flags, fl)
		}
	}
	base := func(op crdt.Op, reason string) Flag {
		return Flag{Op: op.ID, Kind: op.Body.Kind(), Author: op.Author(), Reason: reason, Clock: op.Clock.Time(), Arrived: now.UTC()}
	}
	if before != nil {
		for sid, shown := range before.sessions {
			doc, ok := st.Document(sid)
			if !ok || len(shown) == 0 {
				continue
			}
			var out []crdt.OpID // shown before, waiting now
			for _, w := range doc.Waiting {
				if shown[w.ID] {
					out = append(out, w.ID)
				}
			}
			if len(out) == 0 {
				continue
			}
			for i, op := range ops {
				b, ok := op.Body.(*crdt.ProposalBody)
				if !ok || !fresh[i] || b.Session != sid || !inPlace(doc, op.ID) {
					continue
				}
				fl := base(op, FlagDisplaced)
				fl.Session, fl.Displaced = sid, out[0].String()
				add(fl)
			}
		}
		for eid, seated := range before.events {
			ev, ok := st.Event(eid)
			if !ok || len(seated) == 0 {
				continue
			}
			// An identity that registered again in the batch may have
			// moved itself back: its seat was not taken from it.
			again := map[crdt.IdentityID]bool{}
			for i, op := range ops {
				if b, ok := op.Body.(*crdt.ParticipationBody); ok && fresh[i] && b.Event == eid {
					again[op.Author()] = true
				}
			}
			var out []crdt.IdentityID
			now := map[crdt.IdentityID]bool{}
			for _, pt := range ev.Participants {
				if pt.Status == crdt.Going && !pt.Waitlisted {
					now[pt.Identity] = true
				} else if pt.Waitlisted && seated[pt.Identity] && !again[pt.Identity] {
					out = append(out, pt.Identity)
				}
			}
			if len(out) == 0 {
				continue
			}
			for i, op := range ops {
				b, ok := op.Body.(*crdt.ParticipationBody)
				if !ok || !fresh[i] || b.Event != eid || seated[op.Author()] || !now[op.Author()] {
					continue
				}
				fl := base(op, FlagDisplaced)
				fl.Event, fl.Displaced = eid, out[0].String()
				add(fl)
			}
		}
	}
	for i, op := range ops {
		if !fresh[i] || nowMS-op.Clock.Wall <= LateAfter.Milliseconds() {
			continue
		}
		if c, ok := f.contactBetween(op.Author(), op.Clock.Wall, nowMS-LateAfter.Milliseconds()); ok {
			fl := base(op, FlagLate)
			t := time.UnixMilli(c).UTC()
			fl.Contact = &t
			fl.Session, fl.Event = st.Touches(op)
			add(fl)
		}
	}
	// Contact is noted after judging, so that a batch is not its own alibi.
	for i, op := range ops {
		if fresh[i] {
			f.contact(op.Author(), nowMS)
		}
	}
	if len(flags) > 0 {
		f.flags = append(f.flags, flags...)
		if over := len(f.flags) - maxFlags; over > 0 {
			f.flags = slices.Delete(f.flags, 0, over)
		}
		f.dirty = true
		// Flags are wanted after a crash: saved at once, off this path.
		if f.kick != nil {
			select {
			case f.kick <- struct{}{}:
			default: // a save is due already; it will see these
			}
		}
	}
}

// inPlace reports whether the document shows proposal id in place: ranked,
// not hidden (a hidden proposal takes no place).
func inPlace(doc crdt.Document, id crdt.OpID) bool {
	for _, p := range doc.Proposals {
		if p.ID == id {
			return p.Rank > 0
		}
	}
	return false
}

// record appends the arrival of the new operations to DATA/arrivals. It is
// not synced: a crash loses at most the last arrivals, which only makes
// this node flag less, never wrongly.
func (f *flagger) record(ops []crdt.Op, fresh []bool, nowMS int64) {
	if f.arrivals == nil {
		return
	}
	buf := make([]byte, 0, 16*len(ops))
	for i, op := range ops {
		if fresh[i] {
			buf = binary.BigEndian.AppendUint64(buf, crdt.KeepPrefix(op.ID))
			buf = binary.BigEndian.AppendUint64(buf, uint64(nowMS))
		}
	}
	if len(buf) > 0 {
		f.arrivals.Write(buf) // best effort, see above
	}
}

const minute = int64(time.Minute / time.Millisecond)

// contact notes that an operation of author arrived at ms.
func (f *flagger) contact(author crdt.IdentityID, ms int64) {
	m := ms / minute * minute
	cs := f.contacts[author]
	if n := len(cs); n > 0 && cs[n-1][1] >= m-minute {
		if cs[n-1][1] < m {
			cs[n-1][1] = m
			f.dirty = true
		}
		return
	}
	cs = append(cs, span{m, m})
	if len(cs) > maxContacts {
		cs = cs[len(cs)-maxContacts:]
	}
	f.contacts[author] = cs
	f.dirty = true
}

// contactBetween returns the first minute in (from, to] in which
// operations of author arrived. Minutes are rounded down, so the minute of
// from itself does not count.
func (f *flagger) contactBetween(author crdt.IdentityID, from, to int64) (int64, bool) {
	cs := f.contacts[author]
	lo := from/minute*minute + minute
	i, _ := slices.BinarySearchFunc(cs, lo, func(s span, t int64) int { return cmp.Compare(s[1], t) })
	if i < len(cs) {
		if m := max(cs[i][0], lo); m <= to {
			return m, true
		}
	}
	return 0, false
}

// Flags lists the flagged operations, oldest first.
func (n *Node) Flags() []Flag {
	n.flags.mu.Lock()
	defer n.flags.mu.Unlock()
	return slices.Clone(n.flags.flags)
}

// Arrival is when this node first received (or made) operation id, as
// DATA/arrivals records it.
func (n *Node) Arrival(id crdt.OpID) (time.Time, bool) {
	if n.memory {
		return time.Time{}, false
	}
	b, err := os.ReadFile(filepath.Join(n.dir, arrivalsFile))
	if err != nil {
		return time.Time{}, false
	}
	k := crdt.KeepPrefix(id)
	for i := 0; i+16 <= len(b); i += 16 {
		if binary.BigEndian.Uint64(b[i:]) == k {
			return time.UnixMilli(int64(binary.BigEndian.Uint64(b[i+8:]))).UTC(), true
		}
	}
	return time.Time{}, false
}
