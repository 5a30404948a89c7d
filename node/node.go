// Package node runs one convene node: the durable store of a gathering's
// operations, the state folded from them, the local identities that sign new
// operations, and (through node/mesh) the peers it replicates with.
package node

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	_ "time/tzdata" // zones must resolve on machines without zoneinfo

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/node/mesh"
	"github.com/convene/convene/node/recon"
	"github.com/convene/convene/node/store"
)

// ErrUnknownIdentity: the acting identity is not held on this node.
var ErrUnknownIdentity = errors.New("no such local identity")

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
type Peer = mesh.Peer

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

// Publisher sends a new local operation to peers (the mesh's gossip).
type Publisher interface {
	Publish(ctx context.Context, g crdt.GatheringID, raw []byte) error
}

// PeerSource tells the node about its network side, for Status.
type PeerSource interface {
	Peers() []Peer
	Freshness(crdt.GatheringID) Freshness
	ID() string
	Addrs() []string
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
	keys   crdt.Keys
	name   string // from gathering.json
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
	// unsaved counts the operations the state holds that its stored
	// snapshot lacks, so that Close writes a snapshot only when there is
	// something new to save (read-only commands open and close a node).
	unsaved int

	// mu guards state. Writers hold it only to apply, never across disk
	// writes, so readers wait for no fsync.
	mu    sync.RWMutex
	state *crdt.State

	// verified counts signature checks, so that tests can tell that a
	// duplicate was answered without one.
	verified atomic.Int64

	opened openedCache // see Accept and Store

	idMu sync.RWMutex
	ids  []localKey

	subMu sync.Mutex
	subs  map[*subscriber]struct{}

	extMu sync.RWMutex
	pub   Publisher
	peers PeerSource
}

// Init creates a gathering in dir: credentials, a first identity, and the
// gathering's first operations. It fails if dir already holds one.
func Init(ctx context.Context, dir, name, identity string) (crdt.Credentials, error) {
	if identity == "" {
		identity = "organizer"
	}
	founder, err := newLocalKey(identity)
	if err != nil {
		return crdt.Credentials{}, err
	}
	founder.Default = true
	creds := crdt.Credentials{Founder: founder.ID}
	if _, err := rand.Read(creds.Secret[:]); err != nil {
		return crdt.Credentials{}, err
	}
	keys := creds.Derive()
	var hlc crdt.HLC
	now := time.Now().UnixMilli()
	var envs []*crdt.Envelope
	for _, body := range []crdt.Body{&crdt.GatheringBody{Name: name}, &crdt.IdentityBody{Name: identity}} {
		env, _, err := keys.Seal(founder.signer, hlc.Now(now), body)
		if err != nil {
			return crdt.Credentials{}, fmt.Errorf("init: %w", err)
		}
		envs = append(envs, env)
	}
	if err := create(ctx, dir, creds, name, founder, envs); err != nil {
		return crdt.Credentials{}, fmt.Errorf("init: %w", err)
	}
	return creds, nil
}

// Join prepares dir for an existing gathering: a local identity named
// identity, which announces itself, and an empty store. The gathering's
// operations arrive from peers once the node runs.
func Join(ctx context.Context, dir string, creds crdt.Credentials, identity string) error {
	if identity == "" {
		identity = "participant"
	}
	me, err := newLocalKey(identity)
	if err != nil {
		return err
	}
	me.Default = true
	var hlc crdt.HLC
	env, _, err := creds.Derive().Seal(me.signer, hlc.Now(time.Now().UnixMilli()), &crdt.IdentityBody{Name: identity})
	if err != nil {
		return fmt.Errorf("join: %w", err)
	}
	if err := create(ctx, dir, creds, "", me, []*crdt.Envelope{env}); err != nil {
		return fmt.Errorf("join: %w", err)
	}
	return nil
}

// create writes a new data directory. gathering.json comes last: until it
// exists the directory holds no gathering, and Init or Join may run again.
func create(ctx context.Context, dir string, creds crdt.Credentials, name string, first localKey, envs []*crdt.Envelope) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(dir, gatheringFile)); err == nil {
		return ErrExists
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := saveIdentities(dir, []localKey{first}); err != nil {
		return err
	}
	if _, err := LoadPeerKey(dir); err != nil {
		return err
	}
	st, err := store.Open(filepath.Join(dir, storeDir))
	if err != nil {
		return err
	}
	l, err := st.Log(ctx, creds.Derive().Gathering)
	if err == nil {
		_, err = l.Put(ctx, envs)
	}
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return saveGathering(dir, creds, name)
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
	if n.ids, err = loadIdentities(cfg.Dir); err != nil {
		return nil, err
	}
	if n.pkey, err = LoadPeerKey(cfg.Dir); err != nil {
		return nil, err
	}
	if cfg.Memory {
		n.st = store.OpenMemory()
	} else if n.st, err = store.Open(filepath.Join(cfg.Dir, storeDir)); err != nil {
		return nil, err
	}
	if err := n.load(ctx); err != nil {
		n.st.Close()
		return nil, err
	}
	if err := n.announce(ctx); err != nil {
		n.st.Close()
		return nil, err
	}
	return n, nil
}

// load rebuilds the state: from the snapshot file saved at the last Close
// plus the stored operations it lacks, or, without a usable snapshot, from
// the whole log. Stored operations were verified before they were stored,
// so they are only opened, not verified again.
func (n *Node) load(ctx context.Context) error {
	var err error
	if n.oplog, err = n.st.Log(ctx, n.keys.Gathering); err != nil {
		return err
	}
	start := time.Now()
	logKey := snapshotKey{ops: n.oplog.Len(), digest: n.oplog.Digest()}
	var last crdt.Clock
	var missing []recon.Item
	from := "log"
	if !n.memory {
		// Loading a snapshot allocates the whole state and frees almost
		// nothing, so collecting at the usual pace would only mark the
		// same heap again and again. (Rebuilding from the log makes
		// garbage of every envelope, so it keeps the usual pace.)
		gc := debug.SetGCPercent(400)
		key, body, err := readSnapshot(n.dir)
		switch {
		case errors.Is(err, errNoSnapshot):
		case err != nil:
			n.log.Warn("cannot read the state snapshot; rebuilding", "err", err)
		default:
			if n.state, err = crdt.LoadSnapshot(n.creds.Founder, body); err != nil {
				n.log.Warn("unusable state snapshot; rebuilding", "err", err)
				n.state = nil
			}
		}
		debug.SetGCPercent(gc)
		if n.state != nil {
			from = "snapshot"
			matches := key == logKey
			present := 0
			n.oplog.ReadIndex(func(ix *recon.Index) {
				ix.Range(recon.Bound{}, recon.Infinity(), func(it recon.Item) bool {
					if !matches {
						if n.state.Has(it.ID) {
							present++
						} else {
							missing = append(missing, it)
						}
					}
					last = it.Clock
					return true
				})
			})
			if !matches && present < n.state.Len() {
				// Taken of another log (restored from elsewhere?): the
				// log is the truth, and the state must not show more.
				n.log.Warn("the state snapshot holds operations the log lacks; rebuilding")
				n.state, missing, last, from = nil, nil, crdt.Clock{}, "log"
			}
		}
	}
	bad := 0
	apply := func(e *crdt.Envelope) error {
		op, err := n.keys.Open(e)
		if err != nil {
			if bad++; bad <= 10 {
				n.log.Warn("skipping a stored operation that does not open", "op", e.ID(), "err", err)
			}
			return nil
		}
		n.state.Apply(op)
		if last.Less(e.Clock) {
			last = e.Clock
		}
		return nil
	}
	if n.state == nil {
		n.state = crdt.NewState(n.creds.Founder)
		err = n.oplog.Iterate(ctx, apply)
		n.unsaved = n.state.Len()
	} else if len(missing) > 0 {
		n.unsaved = len(missing)
		var raws [][]byte
		if raws, err = n.oplog.Get(ctx, missing); err == nil {
			for _, raw := range raws {
				e, derr := crdt.DecodeEnvelope(raw)
				if derr != nil {
					err = fmt.Errorf("corrupt stored operation: %w", derr)
					break
				}
				apply(e)
			}
		}
	}
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	n.hlc.Observe(last)
	n.log.Debug("state loaded", "from", from, "ops", logKey.ops, "replayed", len(missing), "unreadable", bad, "took", time.Since(start))
	return nil
}

// announce makes the operations a node must have made but that the store
// lacks: a local identity's name, and for the founder the gathering's name.
// That happens with an in-memory store, or after a crash between writing
// the data directory's files and its store.
func (n *Node) announce(ctx context.Context) error {
	var missing []localKey
	var founder *localKey
	n.mu.RLock()
	for _, k := range n.ids {
		if _, ok := n.state.Identity(k.ID); !ok {
			missing = append(missing, k)
		}
		if k.ID == n.creds.Founder && n.state.Name() == "" && n.name != "" {
			founder = &k
		}
	}
	n.mu.RUnlock()
	if founder != nil {
		if _, err := n.Act(ctx, founder.ID, &crdt.GatheringBody{Name: n.name}); err != nil {
			return fmt.Errorf("announce the gathering: %w", err)
		}
	}
	for _, k := range missing {
		if _, err := n.Act(ctx, k.ID, &crdt.IdentityBody{Name: k.Name}); err != nil {
			return fmt.Errorf("announce identity %s: %w", k.Name, err)
		}
	}
	return nil
}

// Close flushes and closes the store.
func (n *Node) Close() error {
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
	var snap []byte
	if n.unsaved > 0 && !n.memory {
		snap = n.state.Snapshot()
	}
	n.mu.RUnlock()
	// The next start loads this instead of replaying the log. Under
	// writeMu, the log holds what the state holds (and any operations
	// that do not open), so the log's count and digest key it.
	if snap != nil {
		key := snapshotKey{ops: n.oplog.Len(), digest: n.oplog.Digest()}
		if err := writeSnapshot(n.dir, key, snap); err != nil {
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
	return n.st.Close()
}

// Keys are the gathering's keys.
func (n *Node) Keys() crdt.Keys { return n.keys }

// Credentials are what an invite to the gathering carries.
func (n *Node) Credentials() crdt.Credentials { return n.creds }

// PeerKey is the node's libp2p key (from peer.key).
func (n *Node) PeerKey() crypto.PrivKey { return n.pkey }

// Log is the node's operation log (for export and the mesh).
func (n *Node) Log() *store.Log { return n.oplog }

// Invite is the invite to this gathering, with the node's addresses.
func (n *Node) Invite() Invite {
	inv := Invite{Credentials: n.creds, Name: n.gatheringName()}
	for _, a := range n.Status().Addrs {
		if m, err := ma.NewMultiaddr(a); err == nil {
			inv.Addrs = append(inv.Addrs, m)
		}
	}
	return inv
}

func (n *Node) gatheringName() string {
	n.mu.RLock()
	defer n.mu.RUnlock()
	if s := n.state.Name(); s != "" {
		return s
	}
	return n.name
}

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

// Act makes, stores (synced) and applies an operation signed by the local
// identity as (the default identity if as is zero), after State.Check.
// When it returns nil the operation is durable.
func (n *Node) Act(ctx context.Context, as crdt.IdentityID, body crdt.Body) (crdt.Op, error) {
	k, ok := n.identity(as)
	if !ok {
		return crdt.Op{}, fmt.Errorf("%w: %s", ErrUnknownIdentity, as)
	}
	n.writeMu.Lock()
	env, op, err := n.act(ctx, k.signer, body, nil)
	n.writeMu.Unlock()
	if err != nil {
		return crdt.Op{}, err
	}
	n.publish(ctx, env)
	return op, nil
}

// act does Act's work under writeMu. before, if set, runs once the
// operation is sealed and before it is stored; its error aborts.
func (n *Node) act(ctx context.Context, s crdt.Signer, body crdt.Body, before func() error) (*crdt.Envelope, crdt.Op, error) {
	if n.closed {
		return nil, crdt.Op{}, errors.New("node is closed")
	}
	if err := checkZones(body); err != nil {
		return nil, crdt.Op{}, err
	}
	n.mu.RLock()
	err := n.state.Check(s.ID, body)
	n.mu.RUnlock()
	if err != nil {
		return nil, crdt.Op{}, err
	}
	env, op, err := n.keys.Seal(s, n.hlc.Now(n.now().UnixMilli()), body)
	if err != nil {
		return nil, crdt.Op{}, err
	}
	if before != nil {
		if err := before(); err != nil {
			return nil, crdt.Op{}, err
		}
	}
	if _, err := n.oplog.Put(ctx, []*crdt.Envelope{env}); err != nil {
		return nil, crdt.Op{}, err
	}
	n.apply([]crdt.Op{op}, true)
	return env, op, nil
}

// checkZones checks that an event's time zone exists, which crdt cannot
// (it reads no files).
func checkZones(body crdt.Body) error {
	var tz *string
	switch b := body.(type) {
	case *crdt.EventBody:
		tz = &b.Timezone
	case *crdt.EventUpdateBody:
		tz = b.Set.Timezone
	}
	if tz == nil {
		return nil
	}
	// LoadLocation reads "" as UTC and "Local" as this machine's zone,
	// which means something else on every other node.
	if *tz == "" || strings.EqualFold(*tz, "local") {
		return fmt.Errorf("%w: timezone must be an IANA zone name such as Europe/Paris", crdt.ErrInvalid)
	}
	if _, err := time.LoadLocation(*tz); err != nil {
		return fmt.Errorf("%w: unknown time zone %q", crdt.ErrInvalid, *tz)
	}
	return nil
}

func (n *Node) publish(ctx context.Context, env *crdt.Envelope) {
	n.extMu.RLock()
	p := n.pub
	n.extMu.RUnlock()
	if p == nil {
		return
	}
	if err := p.Publish(ctx, n.keys.Gathering, env.Bytes()); err != nil {
		// Reconciliation delivers what gossip did not.
		n.log.Debug("publish failed", "op", env.ID(), "err", err)
	}
}

// apply applies stored operations and tells subscribers. Callers hold
// writeMu.
func (n *Node) apply(ops []crdt.Op, local bool) {
	changes := make([]Change, 0, len(ops))
	n.mu.Lock()
	for _, op := range ops {
		if n.state.Apply(op) {
			n.unsaved++
		}
		n.hlc.Observe(op.Clock)
		changes = append(changes, n.changeOf(op, local))
	}
	n.mu.Unlock()
	n.notify(changes)
}

// changeOf describes op for subscribers. Callers hold mu. It reads only
// the state's index: it runs for every operation applied, and assembling
// documents here would make a batch of edits quadratic.
func (n *Node) changeOf(op crdt.Op, local bool) Change {
	c := Change{Op: op.ID, Kind: op.Body.Kind(), Local: local}
	proposal := func(id crdt.OpID) {
		if s, ok := n.state.SessionOf(id); ok {
			c.Session = s
		}
	}
	switch b := op.Body.(type) {
	case *crdt.SessionBody:
		c.Session = op.ID
	case *crdt.SessionUpdateBody:
		c.Session = b.Session
	case *crdt.ProposalBody:
		c.Session = b.Session
	case *crdt.RevisionBody:
		proposal(b.Proposal)
	case *crdt.EndorseBody:
		proposal(b.Proposal)
	case *crdt.CommentBody:
		proposal(b.Proposal)
	case *crdt.HideBody:
		proposal(b.Target)
	case *crdt.EventBody:
		c.Event = op.ID
	case *crdt.EventUpdateBody:
		c.Event = b.Event
	case *crdt.ParticipationBody:
		c.Event = b.Event
	}
	return c
}

// IngestResult counts what Ingest did.
type IngestResult struct {
	Added, Duplicate, Rejected int
	FirstError                 error
}

// ingestChunk is the most operations Ingest checks before handing them to
// the writer. Each synced write costs a fixed ~0.6 ms plus its bytes, and
// with GOMAXPROCS=1 it overlaps little with checking (the runtime hands
// the blocked P on only when sysmon notices, often after the fsync is
// over), so inputs of the usual batch sizes (256–512) are one write, and
// only large ones (bundles) are pipelined.
const ingestChunk = 1024

// Ingest verifies, stores and applies encoded operations from elsewhere
// (peers, bundles). Bad ones are skipped and counted in the result; they
// are never stored. The error is for a failure to store the good ones;
// the operations stored before it stay stored and are counted in Added.
//
// A large input is pipelined: while one chunk's synced write is under way
// (which leaves the CPU free), the next chunk's signatures are checked, and
// the writer takes everything checked meanwhile as its next batch.
func (n *Node) Ingest(ctx context.Context, raws [][]byte) (IngestResult, error) {
	var res IngestResult
	chunk := ingestChunk
	w := newIngestWriter(ctx, n, len(raws) > chunk)
	seen := make(map[crdt.OpID]struct{}, len(raws))
	for lo := 0; lo < len(raws) && !w.failed(); lo += chunk {
		accepted := n.acceptAll(raws[lo:min(lo+chunk, len(raws))])
		envs := make([]*crdt.Envelope, 0, len(accepted))
		ops := make([]crdt.Op, 0, len(accepted))
		for _, a := range accepted {
			if a.err == nil {
				if _, dup := seen[a.env.ID()]; dup {
					a.err = fmt.Errorf("%w: %s", crdt.ErrDuplicate, a.env.ID())
				}
			}
			switch {
			case errors.Is(a.err, crdt.ErrDuplicate):
				res.Duplicate++
			case a.err != nil:
				res.Rejected++
				if res.FirstError == nil {
					res.FirstError = a.err
				}
			default:
				seen[a.env.ID()] = struct{}{}
				envs = append(envs, a.env)
				ops = append(ops, a.op)
			}
		}
		w.add(envs, ops)
	}
	added, offered, err := w.finish()
	res.Added = added
	if err != nil {
		return res, err
	}
	res.Duplicate += offered - added // stored meanwhile by another path
	return res, nil
}

// ingestWriter commits what Ingest accepted, on its own goroutine when
// pipelined, one batch at a time, each batch being everything accepted
// since the previous one started.
type ingestWriter struct {
	ctx context.Context
	n   *Node

	mu      sync.Mutex
	cond    sync.Cond
	envs    []*crdt.Envelope
	ops     []crdt.Op
	done    bool // no more input
	offered int  // operations handed to commit
	added   int
	err     error
	exited  chan struct{} // nil when not pipelined
}

func newIngestWriter(ctx context.Context, n *Node, pipelined bool) *ingestWriter {
	w := &ingestWriter{ctx: ctx, n: n}
	w.cond.L = &w.mu
	if pipelined {
		w.exited = make(chan struct{})
		go w.run()
	}
	return w
}

func (w *ingestWriter) add(envs []*crdt.Envelope, ops []crdt.Op) {
	if len(envs) == 0 {
		return
	}
	w.mu.Lock()
	w.envs = append(w.envs, envs...)
	w.ops = append(w.ops, ops...)
	w.mu.Unlock()
	w.cond.Signal()
}

// failed reports whether a write failed, after which checking more is
// wasted.
func (w *ingestWriter) failed() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err != nil
}

func (w *ingestWriter) run() {
	defer close(w.exited)
	for w.step(true) {
	}
}

// step commits what is waiting; wait says to wait for input. It reports
// whether there may be more to do.
func (w *ingestWriter) step(wait bool) bool {
	w.mu.Lock()
	for wait && len(w.envs) == 0 && !w.done {
		w.cond.Wait()
	}
	envs, ops := w.envs, w.ops
	w.envs, w.ops = nil, nil
	more := !w.done || len(envs) > 0
	failed := w.err != nil
	w.mu.Unlock()
	if len(envs) == 0 || failed {
		return more && !failed
	}
	added, err := w.n.commit(w.ctx, envs, ops)
	w.mu.Lock()
	w.offered += len(envs)
	w.added += added
	w.err = err
	w.mu.Unlock()
	return err == nil
}

// finish commits the rest and reports what was added, of how many
// offered.
func (w *ingestWriter) finish() (added, offered int, err error) {
	w.mu.Lock()
	w.done = true
	w.mu.Unlock()
	if w.exited != nil {
		w.cond.Signal()
		<-w.exited
	} else {
		w.step(false)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.added, w.offered, w.err
}

type accepted struct {
	env *crdt.Envelope
	op  crdt.Op
	err error
}

// acceptAll checks raws, in parallel for large batches: signature checks
// are nearly all of ingest's cost, and each is independent.
func (n *Node) acceptAll(raws [][]byte) []accepted {
	out := make([]accepted, len(raws))
	now := n.now().UnixMilli()
	one := func(i int) {
		a := &out[i]
		a.env, a.op, a.err = n.accept(raws[i], now)
	}
	workers := min(len(raws)/minPerWorker, runtime.GOMAXPROCS(0))
	if workers <= 1 {
		for i := range raws {
			one(i)
		}
		return out
	}
	var wg sync.WaitGroup
	per := (len(raws) + workers - 1) / workers
	for lo := 0; lo < len(raws); lo += per {
		hi := min(lo+per, len(raws))
		wg.Go(func() {
			for i := lo; i < hi; i++ {
				one(i)
			}
		})
	}
	wg.Wait()
	return out
}

const minPerWorker = 32

// accept fully checks one encoded operation of this gathering. The cheap
// checks come first: an operation already held is answered as a duplicate
// without a signature check (its id is the hash of all its bytes, so a
// changed copy has another id and is checked in full).
func (n *Node) accept(raw []byte, now int64) (*crdt.Envelope, crdt.Op, error) {
	env, err := crdt.Admit(&n.keys, raw, now)
	if err != nil {
		return nil, crdt.Op{}, err
	}
	if env.Gathering != n.keys.Gathering {
		return nil, crdt.Op{}, fmt.Errorf("%w: %s", crdt.ErrForeign, env.Gathering)
	}
	if n.held(env.ID()) {
		return nil, crdt.Op{}, fmt.Errorf("%w: %s", crdt.ErrDuplicate, env.ID())
	}
	if err := crdt.CheckDrift(env.Clock, now); err != nil {
		return nil, crdt.Op{}, err
	}
	n.verified.Add(1)
	if err := env.Verify(); err != nil {
		return nil, crdt.Op{}, err
	}
	op, err := n.keys.Open(env)
	if err != nil {
		return nil, crdt.Op{}, err
	}
	return env, op, nil
}

// held reports whether an operation is applied, and so stored. It asks
// the state rather than the log: the log's index is locked for the whole
// of a synced write, which would stall the checks that Ingest overlaps
// with it. An operation stored but not yet applied (or stored but
// unreadable) is checked in full and then found stored by the write.
func (n *Node) held(id crdt.OpID) bool {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.state.Has(id)
}

// commit stores accepted operations as one synced batch, then applies the
// new ones. ops[i] is the opened envs[i].
func (n *Node) commit(ctx context.Context, envs []*crdt.Envelope, ops []crdt.Op) (int, error) {
	if len(envs) == 0 {
		return 0, nil
	}
	n.writeMu.Lock()
	defer n.writeMu.Unlock()
	if n.closed {
		return 0, errors.New("node is closed")
	}
	fresh, err := n.oplog.PutNew(ctx, envs)
	if err != nil {
		return 0, err
	}
	if len(fresh) < len(envs) {
		// Another writer stored some meanwhile. fresh keeps input order.
		kept := ops[:0:0]
		j := 0
		for i, e := range envs {
			if j < len(fresh) && fresh[j] == e {
				kept = append(kept, ops[i])
				j++
			}
		}
		ops = kept
	}
	n.apply(ops, false)
	return len(ops), nil
}

// Gathering is the gathering this node replicates (for node/mesh).
func (n *Node) Gathering() crdt.GatheringID { return n.keys.Gathering }

// Accept fully checks one encoded operation without storing it: encoding,
// gathering, signature, payload and clock drift. An operation already
// stored gives an error wrapping crdt.ErrDuplicate.
func (n *Node) Accept(raw []byte) (*crdt.Envelope, error) {
	env, op, err := n.accept(raw, n.now().UnixMilli())
	if err != nil {
		return nil, err
	}
	n.opened.put(env, op)
	return env, nil
}

// Store stores (one synced batch) and applies envelopes that Accept
// passed; ones already stored are skipped.
func (n *Node) Store(ctx context.Context, envs []*crdt.Envelope) (int, error) {
	keep := make([]*crdt.Envelope, 0, len(envs))
	ops := make([]crdt.Op, 0, len(envs))
	for _, e := range envs {
		op, ok := n.opened.take(e)
		if !ok {
			var err error
			if op, err = n.keys.Open(e); err != nil {
				n.log.Warn("not storing an operation that does not open", "op", e.ID(), "err", err)
				continue
			}
		}
		keep = append(keep, e)
		ops = append(ops, op)
	}
	return n.commit(ctx, keep, ops)
}

// openedCache keeps the payloads Accept opened until Store takes them, so
// that the mesh's accept-then-store opens each payload once. Envelopes
// accepted but never stored are forgotten when it fills.
type openedCache struct {
	mu  sync.Mutex
	ops map[*crdt.Envelope]crdt.Op
}

const maxOpened = 4096

func (c *openedCache) put(e *crdt.Envelope, op crdt.Op) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ops == nil || len(c.ops) >= maxOpened {
		c.ops = make(map[*crdt.Envelope]crdt.Op)
	}
	c.ops[e] = op
}

func (c *openedCache) take(e *crdt.Envelope) (crdt.Op, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	op, ok := c.ops[e]
	if ok {
		delete(c.ops, e)
	}
	return op, ok
}

// Get returns the encodings of stored items; missing ones are skipped.
func (n *Node) Get(ctx context.Context, items []recon.Item) ([][]byte, error) {
	return n.oplog.Get(ctx, items)
}

// ReadIndex runs fn with the reconciliation index under a read lock.
func (n *Node) ReadIndex(fn func(ix *recon.Index)) { n.oplog.ReadIndex(fn) }

// Identities are the local identities, the default one first.
func (n *Node) Identities() []LocalIdentity {
	n.idMu.RLock()
	defer n.idMu.RUnlock()
	out := make([]LocalIdentity, len(n.ids))
	for i, k := range n.ids {
		out[i] = k.LocalIdentity
	}
	slices.SortStableFunc(out, func(a, b LocalIdentity) int {
		switch {
		case a.Default == b.Default:
			return 0
		case a.Default:
			return -1
		}
		return 1
	})
	return out
}

// DefaultIdentity is the identity that acts when none is named.
func (n *Node) DefaultIdentity() LocalIdentity {
	k, _ := n.identity(crdt.IdentityID{})
	return k.LocalIdentity
}

// identity finds a local identity; the zero id means the default one.
func (n *Node) identity(id crdt.IdentityID) (localKey, bool) {
	n.idMu.RLock()
	defer n.idMu.RUnlock()
	for _, k := range n.ids {
		if (id == crdt.IdentityID{} && k.Default) || k.ID == id {
			return k, true
		}
	}
	return localKey{}, false
}

// CreateIdentity makes a new local identity and announces its name.
func (n *Node) CreateIdentity(ctx context.Context, name string) (LocalIdentity, error) {
	k, err := newLocalKey(name)
	if err != nil {
		return LocalIdentity{}, err
	}
	var prev []localKey
	saved := false
	n.writeMu.Lock()
	env, _, err := n.act(ctx, k.signer, &crdt.IdentityBody{Name: name}, func() error {
		// The key is saved before its first operation is stored, so
		// no stored operation is signed by a key this node lost.
		n.idMu.Lock()
		defer n.idMu.Unlock()
		prev = n.ids
		ids := append(slices.Clone(n.ids), k)
		if err := saveIdentities(n.dir, ids); err != nil {
			return err
		}
		n.ids, saved = ids, true
		return nil
	})
	if err != nil && saved {
		// Its operation was not stored: forget the key again, so that no
		// identity is left that the gathering never heard of.
		n.idMu.Lock()
		n.ids = prev
		if rerr := saveIdentities(n.dir, prev); rerr != nil {
			err = errors.Join(err, fmt.Errorf("restore %s: %w", identitiesFile, rerr))
		}
		n.idMu.Unlock()
	}
	n.writeMu.Unlock()
	if err != nil {
		return LocalIdentity{}, err
	}
	n.publish(ctx, env)
	return k.LocalIdentity, nil
}

// Status reports the node's state.
func (n *Node) Status() Status {
	s := Status{
		Gathering: n.keys.Gathering,
		Name:      n.gatheringName(),
		Identity:  n.DefaultIdentity(),
		Ops:       n.oplog.Len(),
		Digest:    n.oplog.Digest(),
		Peers:     []Peer{},
		Addrs:     []string{},
	}
	if size, err := n.st.DiskUsage(context.Background()); err == nil {
		s.StoreSize = size
	}
	ps := n.peerSource()
	if ps != nil {
		s.PeerID = ps.ID()
		s.Addrs = ps.Addrs()
		s.Peers = ps.Peers()
		s.Freshness = ps.Freshness(n.keys.Gathering)
	} else if id, err := peer.IDFromPrivateKey(n.pkey); err == nil {
		s.PeerID = id.String()
	}
	return s
}

// Freshness says how current the node's view is: the cheap part of Status,
// for answers that carry it with every read.
func (n *Node) Freshness() Freshness {
	if ps := n.peerSource(); ps != nil {
		return ps.Freshness(n.keys.Gathering)
	}
	return Freshness{}
}

func (n *Node) peerSource() PeerSource {
	n.extMu.RLock()
	defer n.extMu.RUnlock()
	return n.peers
}
