// Package mesh is the network side of a convene node: a libp2p host that
// finds peers (mDNS, static and invite addresses, hubs, peer exchange),
// spreads new operations by GossipSub, one topic per gathering, and repairs
// whatever gossip missed by range-based set reconciliation over a stream
// protocol. A hub runs the same mesh with a circuit relay and replicas that
// can verify but not read.
package mesh

import (
	"context"
	"time"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/node/recon"
)

// Replica is one gathering's operation log as the mesh sees it.
type Replica interface {
	Gathering() crdt.GatheringID
	// Accept fully checks one encoded op without storing it. An error wrapping crdt.ErrDuplicate means ignore; any other error means reject (and penalize the peer).
	Accept(raw []byte) (*crdt.Envelope, error)
	// Store durably stores and applies accepted envelopes (one synced batch); idempotent.
	Store(ctx context.Context, envs []*crdt.Envelope) (added int, err error)
	// Get returns the encodings of the given items (missing ones skipped).
	Get(ctx context.Context, items []recon.Item) ([][]byte, error)
	// ReadIndex runs fn with the reconciliation index under a read lock.
	ReadIndex(fn func(ix *recon.Index))
}

// How a peer was found. The first path that reached a peer is the one
// reported.
const (
	ViaMDNS    = "mdns"
	ViaStatic  = "static"
	ViaInvite  = "invite"
	ViaHub     = "hub"
	ViaPEX     = "pex"
	ViaInbound = "inbound"
)

// Peer is a connected peer and how it was found.
type Peer struct {
	PeerID   string    `json:"peer_id"`
	Addrs    []string  `json:"addrs"`
	Via      string    `json:"via"` // mdns, static, invite, hub, pex, inbound
	Since    time.Time `json:"since"`
	LastSync time.Time `json:"last_sync,omitzero"`
}
