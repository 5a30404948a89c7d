package node

import (
	"context"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/node/mesh"
	"github.com/convene/convene/node/recon"
	"github.com/convene/convene/node/store"
)

// HubReplica is a gathering's log on a relay that holds only the
// gathering id: it checks encodings, gathering and signatures through the
// same pipeline as a member, and stores and forwards sealed operations it
// cannot read. It implements the replica interface of node/mesh, like
// *Node.
type HubReplica struct {
	log *store.Log
	in  pipeline
}

var _ mesh.Replica = (*HubReplica)(nil)

// NewHubReplica serves log to the mesh.
func NewHubReplica(log *store.Log) *HubReplica {
	h := &HubReplica{log: log}
	h.in.g, h.in.k = log.Gathering(), hubKeeper{log}
	return h
}

// Gathering is the gathering replicated.
func (h *HubReplica) Gathering() crdt.GatheringID { return h.log.Gathering() }

// Take checks encoded operations and stores the good ones, sealed. The
// clock is not checked against drift: members do that when they open it,
// and a relay's own clock should not hold back operations between sites.
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

func (hubKeeper) open(*crdt.Envelope) (crdt.Op, error) { return crdt.Op{}, nil }

func (k hubKeeper) commit(ctx context.Context, envs []*crdt.Envelope, _ []crdt.Op) ([]*crdt.Envelope, error) {
	return k.log.PutNew(ctx, envs)
}
