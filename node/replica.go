package node

import (
	"context"
	"fmt"
	"time"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/node/recon"
	"github.com/convene/convene/node/store"
)

// HubReplica is a gathering's log on a relay that holds only a hub ticket:
// it checks encodings, gathering, admission tags, clock drift and
// signatures, and stores and forwards sealed operations it cannot read. It
// implements the replica interface of node/mesh, like *Node.
type HubReplica struct {
	log    *store.Log
	ticket crdt.Ticket
	now    func() time.Time
}

// NewHubReplica serves log, the log of t's gathering, to the mesh.
func NewHubReplica(log *store.Log, t crdt.Ticket) *HubReplica {
	return &HubReplica{log: log, ticket: t, now: time.Now}
}

// Gathering is the gathering replicated.
func (h *HubReplica) Gathering() crdt.GatheringID { return h.log.Gathering() }

// Accept checks one encoded operation without storing it: first the door
// (crdt.Admit: gathering, admission tag, clock drift, as on members), so
// that an outsider who knows only the id costs no signature check. An
// operation already stored is answered without a signature check.
func (h *HubReplica) Accept(raw []byte) (*crdt.Envelope, error) {
	e, err := crdt.Admit(&h.ticket, raw, h.now().UnixMilli())
	if err != nil {
		return nil, err
	}
	if e.Gathering != h.log.Gathering() {
		return nil, fmt.Errorf("%w: %s", crdt.ErrForeign, e.Gathering)
	}
	if h.log.Contains(recon.Item{Clock: e.Clock, ID: e.ID()}) {
		return nil, fmt.Errorf("%w: %s", crdt.ErrDuplicate, e.ID())
	}
	if err := e.Verify(); err != nil {
		return nil, err
	}
	return e, nil
}

// Store stores accepted envelopes as one synced batch.
func (h *HubReplica) Store(ctx context.Context, envs []*crdt.Envelope) (int, error) {
	return h.log.Put(ctx, envs)
}

// Get returns the encodings of stored items; missing ones are skipped.
func (h *HubReplica) Get(ctx context.Context, items []recon.Item) ([][]byte, error) {
	return h.log.Get(ctx, items)
}

// ReadIndex runs fn with the reconciliation index under a read lock.
func (h *HubReplica) ReadIndex(fn func(ix *recon.Index)) { h.log.ReadIndex(fn) }
