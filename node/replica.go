package node

import (
	"context"
	"time"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/node/mesh"
	"github.com/convene/convene/node/recon"
	"github.com/convene/convene/node/store"
)

// HubReplica is a gathering's log on a relay that holds only a hub ticket:
// it checks encodings, gathering, admission tags, clock drift and
// signatures through the
// same pipeline as a member, and stores and forwards sealed operations it
// cannot read. It implements the replica interface of node/mesh, like
// *Node.
type HubReplica struct {
	log *store.Log
	in  pipeline
}

var _ mesh.Replica = (*HubReplica)(nil)

// NewHubReplica serves log, the log of t's gathering, to the mesh. The
// ticket is the door: an operation without its gathering's admission tag
// costs no signature check and is never stored.
func NewHubReplica(log *store.Log, t crdt.Ticket, now func() time.Time) *HubReplica {
	h := &HubReplica{log: log}
	h.in.door, h.in.k, h.in.now = t, hubKeeper{log}, now
	return h
}

// Gathering is the gathering replicated.
func (h *HubReplica) Gathering() crdt.GatheringID { return h.log.Gathering() }

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

func (hubKeeper) open(*crdt.Envelope) (crdt.Op, error) { return crdt.Op{}, nil }

func (k hubKeeper) commit(ctx context.Context, envs []*crdt.Envelope, _ []crdt.Op) ([]*crdt.Envelope, error) {
	return k.log.PutNew(ctx, envs)
}
