package node

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/node/mesh"
	"github.com/convene/convene/node/recon"
	"github.com/convene/convene/node/store"
)

// HubReplica is a gathering's log on a relay that holds only hub tickets:
// it checks encodings, gathering, admission tags, clock drift and
// signatures through the same pipeline as a member, and stores and
// forwards sealed operations it cannot read. It implements the replica
// interface of node/mesh, like *Node, and takes the next epochs' tickets
// that members hand over (mesh.HandoverSink).
type HubReplica struct {
	log     *store.Log
	in      pipeline
	tickets *crdt.Tickets
	// wants is set when the door refused an operation of an epoch newer
	// than any ticket held.
	wants atomic.Bool
	// saved, if set, is told of tickets handed over, to keep them.
	saved func([]crdt.Ticket)
}

var (
	_ mesh.Replica      = (*HubReplica)(nil)
	_ mesh.HandoverSink = (*HubReplica)(nil)
)

// NewHubReplica serves log, the log of t's gathering, to the mesh. The
// ticket is the door: an operation without its gathering's admission tag
// costs no signature check and is never stored.
func NewHubReplica(log *store.Log, t crdt.Ticket, now func() time.Time) *HubReplica {
	ts, _ := crdt.NewTickets(t) // one ticket is of one gathering
	return newHubReplica(log, ts, now, nil)
}

// newHubReplica serves log behind the tickets ts; saved, if set, is told
// of every ticket handed over.
func newHubReplica(log *store.Log, ts *crdt.Tickets, now func() time.Time, saved func([]crdt.Ticket)) *HubReplica {
	h := &HubReplica{log: log, tickets: ts, saved: saved}
	h.in.door, h.in.k, h.in.now = ts, hubKeeper{log}, now
	h.in.unknownEpoch = func(epoch uint64) {
		if epoch > ts.Newest() {
			h.wants.Store(true)
		}
	}
	return h
}

// Gathering is the gathering replicated.
func (h *HubReplica) Gathering() crdt.GatheringID { return h.log.Gathering() }

// Tickets are the tickets held, by epoch.
func (h *HubReplica) Tickets() []crdt.Ticket { return h.tickets.List() }

// WantsHandover reports, and forgets, that an operation of an unknown
// newer epoch was refused.
func (h *HubReplica) WantsHandover() bool { return h.wants.Swap(false) }

// NewestEpoch is the newest epoch a ticket is held for.
func (h *HubReplica) NewestEpoch() uint64 { return h.tickets.Newest() }

// TakeHandovers keeps the tickets that chain from those held.
func (h *HubReplica) TakeHandovers(hs []crdt.Handover) int {
	added := h.tickets.Take(hs)
	if len(added) > 0 && h.saved != nil {
		h.saved(h.tickets.List())
	}
	return len(added)
}

// Take checks encoded operations and stores the good ones, sealed. The
// clock is checked against drift as on members: a relay that stored an
// operation stamped years ahead would offer it to members in every round.
func (h *HubReplica) Take(ctx context.Context, raws [][]byte, pol mesh.Policy) (mesh.Ingested, error) {
	return h.in.ingest(ctx, raws, pol)
}

// Get returns the encodings of stored items; missing ones are skipped.
func (h *HubReplica) Get(ctx context.Context, items []recon.Item) ([][]byte, error) {
	return h.log.Get(ctx, items)
}

// ReadIndex runs fn with the reconciliation index under a read lock.
func (h *HubReplica) ReadIndex(fn func(ix *recon.Index)) { h.log.ReadIndex(fn) }

// hubKeeper stores what it cannot open.
type hubKeeper struct{ log *store.Log }

func (k hubKeeper) held(e *crdt.Envelope) bool {
	return k.log.Contains(recon.Item{Clock: e.Clock, ID: e.ID()})
}

func (hubKeeper) open(_ *crdt.Envelope, buf []byte) (crdt.Op, []byte, error) {
	return crdt.Op{}, buf, nil
}

func (k hubKeeper) commit(ctx context.Context, envs []*crdt.Envelope, _ []crdt.Op) ([]*crdt.Envelope, error) {
	return k.log.PutNew(ctx, envs)
}
