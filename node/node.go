// Package node runs one convene node: the durable store of a gathering's
// operations, the state folded from them, the local identities that sign new
// operations, and (through node/mesh) the peers it replicates with.
//
// The files: datadir.go creates a data directory, load.go rebuilds the
// state when a node opens, act.go is the write path of local operations,
// ingest.go the one path of operations from elsewhere (member.go and
// replica.go are its member and hub ends), identities.go the local
// identities, status.go what the node reports.
package node

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
	_ "time/tzdata" // zones must resolve on machines without zoneinfo

	"github.com/libp2p/go-libp2p/core/crypto"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/node/recon"
	"github.com/convene/convene/node/store"
)

// ErrUnknownIdentity: the acting identity is not held on this node.
var ErrUnknownIdentity = errors.New("no such local identity")

// ErrRotatedOut: the identity was left out of the rotation that closed the
// newest epoch this node holds, so whatever it wrote would count nowhere
// (crdt/epochs.go). A facilitator re-admits it with the new invite.
var ErrRotatedOut = errors.New("this identity was not given the current invite (a rotation left it out): ask a facilitator for the new invite")

// ErrNoGathering: the data directory holds no gathering yet.
var ErrNoGathering = errors.New("no gathering in the data directory")

// ErrExists: Init or Join on a data directory that already holds a
// gathering.
var ErrExists = errors.New("the data directory already holds a gathering")

// Config says how to open a node.
type Config struct {
	Dir    string       // data directory; holds gathering.json, identities.json, peer.key, store/
	Memory bool         // keep operations in memory only (tests)
	Logger *slog.Logger // nil: slog.Default()
	Now    func() time.Time
	// ClockReady, if set, is closed once the room's time is known
	// (mesh.Clock.Measured): until then, for at most FirstClockWait after
	// Open, a local write waits for it (see awaitClock).
	ClockReady <-chan struct{}
	// SaveRebuilt is how long after a start that rebuilt the state from
	// the log the state snapshot is saved (see saveRebuiltSoon); zero:
	// rebuiltSaveAfter.
	SaveRebuilt time.Duration
}

// Change tells subscribers that an operation was applied.
type Change struct {
	Op      crdt.OpID `json:"op"`
	Kind    crdt.Kind `json:"kind"`
	Session crdt.OpID `json:"session,omitzero"` // the session it touches, if any
	Event   crdt.OpID `json:"event,omitzero"`   // the event it touches, if any
	All     bool      `json:"all,omitempty"`    // it may change anything shown (a removal, the seating, a hidden name)
	Local   bool      `json:"local"`            // made on this node
}

// Node is one running node.
type Node struct {
	log *slog.Logger
	now func() time.Time
	dir string
	// memory: the store is in memory, so no snapshot file is read or
	// written (it would describe a log that is gone).
	memory bool
	creds  crdt.Credentials
	keys   crdt.Keys // epoch 0's
	ring   *keyring  // every epoch held (keyring.go)
	name   string    // from gathering.json
	pkey   crypto.PrivKey
	st     *store.Store
	oplog  *store.Log

	// writeMu serialises everything that writes: the clock, the
	// identities file, and store-then-apply, so that a Check stays true
	// until its operation is applied and changes reach subscribers in
	// the order they were applied.
	writeMu sync.Mutex
	hlc     crdt.HLC
	closed  bool
	// pendingRot: rotations whose author is not a facilitator here yet
	// (rotation.go).
	pendingRot []pendingRotation
	// unsaved counts the operations the state holds that its stored
	// snapshot lacks, so that Close writes a snapshot only when there is
	// something new to save (read-only commands open and close a node).
	unsaved int
	// rebuilt: load replayed much of the log (see saveRebuiltSoon).
	rebuilt bool
	// saveMu serialises writing the snapshot file; saveTimer is the
	// pending save after a rebuild, if any.
	saveMu    sync.Mutex
	saveTimer *time.Timer

	// mu guards state. Writers hold it only to apply, never across disk
	// writes, so readers wait for no fsync.
	mu    sync.RWMutex
	state *crdt.State

	// in takes in operations from elsewhere (ingest.go).
	in pipeline
	// flags notes arrivals and flags possible backdating (flags.go).
	flags flagger

	idMu sync.RWMutex
	ids  []localKey

	subMu sync.Mutex
	subs  map[*subscriber]struct{}

	extMu sync.RWMutex
	pub   Publisher
	peers PeerSource

	// clockReady, clockWaitOver (closed FirstClockWait after the first
	// wait began), clockOpened: see awaitClock; clockReady nil: no wait.
	clockReady    <-chan struct{}
	clockWaitOver chan struct{}
	clockWaitOnce sync.Once
	clockOpened   time.Time
	// hlcWall is the hybrid clock's latest wall time, for Status (the
	// clock itself is under writeMu).
	hlcWall atomic.Int64
}

// Open opens the node in cfg.Dir, rebuilding the state from the store.
func Open(ctx context.Context, cfg Config) (*Node, error) {
	n := &Node{log: cfg.Logger, now: cfg.Now, dir: cfg.Dir, memory: cfg.Memory, subs: make(map[*subscriber]struct{})}
	if n.log == nil {
		n.log = slog.Default()
	}
	if n.now == nil {
		n.now = time.Now
	}
	var err error
	if n.creds, n.name, err = LoadGathering(cfg.Dir); err != nil {
		return nil, err
	}
	n.keys = n.creds.Derive()
	if n.ring, err = loadKeyring(cfg.Dir, cfg.Memory, n.keys); err != nil {
		return nil, err
	}
	n.in.door, n.in.k, n.in.now = n.ring.Keyring, member{n}, n.now
	if n.ids, err = loadIdentities(cfg.Dir); err != nil {
		return nil, err
	}
	if n.pkey, err = LoadPeerKey(cfg.Dir); err != nil {
		return nil, err
	}
	// The state snapshot loads while the store opens and reads its
	// reconciliation index: with a large log both take a while, and
	// neither needs the other until load compares them.
	var snap <-chan loadedSnapshot
	if !cfg.Memory {
		snap = startLoadSnapshot(cfg.Dir, n.creds.Founder)
	}
	if cfg.Memory {
		n.st = store.OpenMemory()
	} else if n.st, err = store.Open(filepath.Join(cfg.Dir, storeDir)); err != nil {
		return nil, err
	}
	flagDir := cfg.Dir
	if cfg.Memory {
		flagDir = ""
	}
	if err := n.flags.open(flagDir); err != nil {
		// Flags are this node's notes, not the gathering: a damaged file
		// must not keep the node from starting.
		n.log.Warn("starting without the flags of backdating", "err", err)
	}
	if err := n.load(ctx, snap); err != nil {
		n.st.Close()
		n.flags.close()
		return nil, err
	}
	// The store is where a rotation received is kept: a share not taken
	// yet (a crash before epochs.json was written, or an author whose
	// appointment had not arrived) is taken now, or waits again.
	n.writeMu.Lock()
	n.takeRotations(n.state.Rotations())
	n.writeMu.Unlock()
	if err := n.announce(ctx); err != nil {
		n.st.Close()
		n.flags.close()
		return nil, err
	}
	// Only now: what Open itself announces (a crash's leftovers) must not
	// wait for a mesh that starts after it.
	if cfg.ClockReady != nil {
		n.clockReady, n.clockWaitOver, n.clockOpened = cfg.ClockReady, make(chan struct{}), time.Now()
	}
	n.saveRebuiltSoon(cfg.SaveRebuilt)
	return n, nil
}

// Close flushes and closes the store.
func (n *Node) Close() error {
	if n.saveTimer != nil {
		n.saveTimer.Stop()
	}
	// A save after a rebuild that has started finishes first.
	n.saveMu.Lock()
	defer n.saveMu.Unlock()
	n.writeMu.Lock()
	defer n.writeMu.Unlock()
	if n.closed {
		return nil
	}
	n.closed = true
	n.subMu.Lock()
	for s := range n.subs {
		close(s.ch)
	}
	n.subs = nil
	n.subMu.Unlock()
	n.mu.RLock()
	name := n.state.Name()
	n.mu.RUnlock()
	// The next start loads this instead of replaying the log.
	if ts, ok := n.takeSnapshot(); ok {
		if err := n.putSnapshot(ts); err != nil {
			n.log.Warn("could not save a state snapshot", "err", err)
		}
	}
	if name != "" && name != n.name {
		// Commands that read the directory without opening the store
		// (convene invite) show the current name.
		if err := saveGathering(n.dir, n.creds, name); err != nil {
			n.log.Warn("could not record the gathering's name", "err", err)
		}
	}
	if err := n.flags.close(); err != nil {
		n.log.Warn("could not save the flags of backdating", "err", err)
	}
	return n.st.Close()
}

// Keys are the gathering's keys of the newest epoch this node holds: the
// ones it seals under, and whose ticket a hub needs now.
func (n *Node) Keys() crdt.Keys { return n.ring.Newest() }

// Keyring holds every epoch this node holds: it admits and opens
// operations of any of them (an import of old history, for instance).
func (n *Node) Keyring() *crdt.Keyring { return n.ring.Keyring }

// Credentials are what an invite to the gathering carries.
func (n *Node) Credentials() crdt.Credentials { return n.creds }

// PeerKey is the node's libp2p key (from peer.key).
func (n *Node) PeerKey() crypto.PrivKey { return n.pkey }

// Log is the node's operation log (for export and the mesh).
func (n *Node) Log() *store.Log { return n.oplog }

// SetPublisher sets where new local operations are published (nil: none).
func (n *Node) SetPublisher(p Publisher) {
	n.extMu.Lock()
	n.pub = p
	n.extMu.Unlock()
}

// SetPeerSource sets where Status finds peers and addresses (nil: none).
func (n *Node) SetPeerSource(p PeerSource) {
	n.extMu.Lock()
	n.peers = p
	n.extMu.Unlock()
}

// View runs fn with the state under a read lock. fn must not keep s.
func (n *Node) View(fn func(s *crdt.State)) {
	n.mu.RLock()
	defer n.mu.RUnlock()
	fn(n.state)
}

// Gathering is the gathering this node replicates (for node/mesh).
func (n *Node) Gathering() crdt.GatheringID { return n.keys.Gathering }

// Get returns the encodings of stored items; missing ones are skipped.
func (n *Node) Get(ctx context.Context, items []recon.Item) ([][]byte, error) {
	return n.oplog.Get(ctx, items)
}

// Stored returns the stored encoding of an applied operation, by its id
// alone: the state knows its clock, which with the id names it in the
// log.
func (n *Node) Stored(ctx context.Context, id crdt.OpID) ([]byte, bool, error) {
	var clock crdt.Clock
	var ok bool
	n.View(func(s *crdt.State) { clock, ok = s.ClockOf(id) })
	if !ok {
		return nil, false, nil
	}
	return n.storedAt(ctx, recon.Item{Clock: clock, ID: id})
}

// storedAt returns the stored encoding of one item.
func (n *Node) storedAt(ctx context.Context, it recon.Item) ([]byte, bool, error) {
	raws, err := n.oplog.Get(ctx, []recon.Item{it})
	if err != nil || len(raws) == 0 {
		return nil, false, err
	}
	return raws[0], true, nil
}

// ReadIndex runs fn with the reconciliation index under a read lock.
func (n *Node) ReadIndex(fn func(ix *recon.Index)) { n.oplog.ReadIndex(fn) }
