package node

import (
	"context"
	"fmt"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/node/recon"
	"github.com/convene/convene/node/store"
)

// HubReplica is a gathering's log on a relay that holds only the
// gathering id: it checks encodings, gathering and signatures, and stores
// and forwards sealed operations it cannot read. It implements the
// replica interface of node/mesh, like *Node.
type HubReplica struct {
	log *store.Log
}

// NewHubReplica serves log to the mesh.
func NewHubReplica(log *store.Log) *HubReplica { return &HubReplica{log: log} }

// Gathering is the gathering replicated.
func (h *HubReplica) Gathering() crdt.GatheringID { return h.log.Gathering() }

// Accept checks one encoded operation without storing it. The clock is
// not checked against drift: members do that when they open it, and a
// relay's own clock should not hold back operations between sites. An
// operation already stored is answered without a signature check.
func (h *HubReplica) Accept(raw []byte) (*crdt.Envelope, error) {
	e, err := crdt.DecodeEnvelope(raw)
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
