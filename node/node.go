// Package node runs one convene node: the durable store of a gathering's
// operations, the state folded from them, the local identities that sign new
// operations, and (through node/mesh) the peers it replicates with.
package node

// CONTRACT STUB: web/ and cmd/ code against these signatures. The bodies
// are being written; keep the signatures (add, don't change).

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/convene/convene/crdt"
)

// ErrUnknownIdentity: the acting identity is not held on this node.
var ErrUnknownIdentity = errors.New("no such local identity")

// ErrNoGathering: the data directory holds no gathering yet.
var ErrNoGathering = errors.New("no gathering in the data directory")

// Config says how to open a node.
type Config struct {
	Dir    string       // data directory; holds gathering.json, identities.json, peer.key, store/
	Memory bool         // keep operations in memory only (tests)
	Logger *slog.Logger // nil: slog.Default()
	Now    func() time.Time
}

// LocalIdentity is an identity whose private key this node holds.
type LocalIdentity struct {
	ID      crdt.IdentityID `json:"id"`
	Name    string          `json:"name"`
	Default bool            `json:"default"`
}

// Change tells subscribers that an operation was applied.
type Change struct {
	Op      crdt.OpID `json:"op"`
	Kind    crdt.Kind `json:"kind"`
	Session crdt.OpID `json:"session,omitzero"` // the session it touches, if any
	Event   crdt.OpID `json:"event,omitzero"`   // the event it touches, if any
	Local   bool      `json:"local"`            // made on this node
}

// Peer is a connected peer and how it was found.
type Peer struct {
	PeerID   string    `json:"peer_id"`
	Addrs    []string  `json:"addrs"`
	Via      string    `json:"via"` // mdns, static, invite, hub, pex, inbound
	Since    time.Time `json:"since"`
	LastSync time.Time `json:"last_sync,omitzero"`
}

// Freshness says how current this node's view is.
type Freshness struct {
	Peers    int       `json:"peers"`
	LastSync time.Time `json:"last_sync,omitzero"`
}

// Status is a snapshot of the node for /api/v1/status and `convene status`.
type Status struct {
	PeerID    string           `json:"peer_id"`
	Addrs     []string         `json:"addrs"`
	Gathering crdt.GatheringID `json:"gathering_id"`
	Name      string           `json:"gathering_name"`
	Identity  LocalIdentity    `json:"identity"`
	Peers     []Peer           `json:"peers"`
	Ops       int              `json:"ops"`
	Digest    string           `json:"digest"`
	Freshness Freshness        `json:"freshness"`
	StoreSize int64            `json:"store_size"`
}

// Node is one running node.
type Node struct{}

// Init creates a gathering in dir: credentials, a first identity, and the
// gathering's first operations. It fails if dir already holds one.
func Init(ctx context.Context, dir, name, identity string) (crdt.Credentials, error) {
	panic("todo")
}

// Open opens the node in cfg.Dir, rebuilding the state from the store.
func Open(ctx context.Context, cfg Config) (*Node, error) { panic("todo") }

// Close flushes and closes the store.
func (n *Node) Close() error { panic("todo") }

// Keys are the gathering's keys.
func (n *Node) Keys() crdt.Keys { panic("todo") }

// View runs fn with the state under a read lock. fn must not keep s.
func (n *Node) View(fn func(s *crdt.State)) { panic("todo") }

// Act makes, stores (synced) and applies an operation signed by the local
// identity as (the default identity if as is zero), after State.Check.
// When it returns nil the operation is durable.
func (n *Node) Act(ctx context.Context, as crdt.IdentityID, body crdt.Body) (crdt.Op, error) {
	panic("todo")
}

// Ingest verifies, stores and applies encoded operations from elsewhere
// (peers, bundles). Bad ones are skipped and counted in the result.
func (n *Node) Ingest(ctx context.Context, raws [][]byte) (IngestResult, error) { panic("todo") }

// IngestResult counts what Ingest did.
type IngestResult struct {
	Added, Duplicate, Rejected int
	FirstError                 error
}

func (n *Node) Identities() []LocalIdentity    { panic("todo") }
func (n *Node) DefaultIdentity() LocalIdentity { panic("todo") }

// CreateIdentity makes a new local identity and announces its name.
func (n *Node) CreateIdentity(ctx context.Context, name string) (LocalIdentity, error) {
	panic("todo")
}

// Subscribe returns a channel of changes and a cancel function. A slow
// subscriber loses changes rather than slowing the node; it sees a Change
// with zero Op when that happened, and should re-read what it shows.
func (n *Node) Subscribe() (<-chan Change, func()) { panic("todo") }

// Status reports the node's state.
func (n *Node) Status() Status { panic("todo") }
