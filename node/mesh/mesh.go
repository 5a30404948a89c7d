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
	// Take takes in a batch of encoded operations, whatever path
	// brought them: it checks each distinct one once, stores the good
	// ones (one synced write) and applies them, and says what it did and
	// whose fault each refusal was (see Ingested). With AllOrNothing it
	// stores nothing if any operation shows the sender misbehaving. The
	// error is for a failure to store.
	Take(ctx context.Context, raws [][]byte, p Policy) (Ingested, error)
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

// Peer is a peer and how it was found: connected, or unreachable since
// Since (it stopped answering pings and its connection was closed; Reason
// says what failed).
type Peer struct {
	PeerID   string    `json:"peer_id"`
	Addrs    []string  `json:"addrs"`
	Via      string    `json:"via"`   // mdns, static, invite, hub, pex, inbound
	State    string    `json:"state"` // connected, unreachable
	Since    time.Time `json:"since"`
	LastSync time.Time `json:"last_sync,omitzero"`
	Reason   string    `json:"reason,omitempty"`
	// Identities are those seen acting on the peer (see authors.go),
	// the latest first.
	Identities []PeerIdentity `json:"identities"`
}
