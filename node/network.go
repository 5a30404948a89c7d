package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/node/mesh"
	"github.com/convene/convene/node/store"
)

// Connect starts the node on the network: a libp2p host with the node's
// peer key, joined to the node's gathering, publishing what the node makes
// and reporting peers and freshness in Status. The caller closes the mesh
// before the node.
func (n *Node) Connect(ctx context.Context, cfg mesh.Config) (*mesh.Mesh, error) {
	cfg.Key = n.PeerKey()
	if cfg.Now == nil {
		cfg.Now = n.now
	}
	m, err := mesh.New(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("start the mesh: %w", err)
	}
	if err := m.Join(ctx, n); err != nil {
		m.Close()
		return nil, fmt.Errorf("join the gathering's mesh: %w", err)
	}
	n.SetPublisher(m)
	n.SetPeerSource(meshPeers{m})
	return m, nil
}

// meshPeers adapts a mesh to the node's PeerSource.
type meshPeers struct{ m *mesh.Mesh }

func (p meshPeers) ID() string      { return p.m.ID() }
func (p meshPeers) Addrs() []string { return p.m.Addrs() }

func (p meshPeers) Peers() []Peer { return reconciled(p.m.Peers()) }

// reconciled keeps the peers that have reconciled a gathering with this
// node: anyone on the Wi-Fi can connect, and only members (or hubs) get
// as far as a session, so the others are not shown as peers (issue 9).
// Remembered peers reconciled in an earlier run (that is why they are
// remembered), so they stay listed while they cannot be reached.
func reconciled(ps []Peer) []Peer {
	return slices.DeleteFunc(ps, func(p Peer) bool { return p.LastSync.IsZero() && p.Via != mesh.ViaRemembered })
}

func (p meshPeers) Clock() (time.Duration, int) { return p.m.Clock().Status() }

func (p meshPeers) Freshness(g crdt.GatheringID) Freshness {
	n, last := p.m.Freshness(g)
	return Freshness{Peers: n, LastSync: last}
}

// Relay is a hub: it serves gatherings it knows only by hub ticket, storing and
// forwarding their sealed operations without reading them.
type Relay struct {
	store  *store.Store
	mesh   *mesh.Mesh
	logs   map[crdt.GatheringID]*store.Log
	reps   map[crdt.GatheringID]*HubReplica
	saveMu sync.Mutex
}

// RelayConfig says how to run a hub.
type RelayConfig struct {
	Dir        string // holds peer.key and store/
	Gatherings []crdt.Ticket
	Mesh       mesh.Config // Hub is set by OpenRelay
	Logger     *slog.Logger
}

// OpenRelay opens the hub's store and starts its mesh in hub mode, joined
// to every gathering named.
func OpenRelay(ctx context.Context, cfg RelayConfig) (*Relay, error) {
	if len(cfg.Gatherings) == 0 {
		return nil, errors.New("a relay needs at least one hub ticket")
	}
	key, err := LoadPeerKey(cfg.Dir)
	if err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	st, err := store.Open(filepath.Join(cfg.Dir, storeDir), store.WithLogger(cfg.Logger))
	if err != nil {
		return nil, err
	}
	cfg.Mesh.Key = key
	cfg.Mesh.Hub = true
	if cfg.Mesh.Now == nil {
		cfg.Mesh.Now = time.Now
	}
	if cfg.Mesh.Logger == nil {
		cfg.Mesh.Logger = cfg.Logger
	}
	m, err := mesh.New(ctx, cfg.Mesh)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("start the hub's mesh: %w", err)
	}
	r := &Relay{store: st, mesh: m, logs: map[crdt.GatheringID]*store.Log{}, reps: map[crdt.GatheringID]*HubReplica{}}
	// Tickets handed over since (relay_tickets.go) join those given, and
	// several epochs of one gathering are one replica.
	kept, err := loadRelayTickets(cfg.Dir)
	if err != nil {
		cfg.Logger.Warn("starting with the tickets given only", "err", err)
	}
	byG := map[crdt.GatheringID]*crdt.Tickets{}
	var order []crdt.GatheringID
	for _, t := range append(slices.Clone(cfg.Gatherings), kept...) {
		if ts, ok := byG[t.Gathering]; ok {
			ts.Add(t)
			continue
		}
		if _, given := findTicket(cfg.Gatherings, t.Gathering); !given {
			continue // kept for a gathering no longer served
		}
		byG[t.Gathering], _ = crdt.NewTickets(t)
		order = append(order, t.Gathering)
	}
	for _, g := range order {
		l, err := st.Log(ctx, g)
		if err != nil {
			r.Close()
			return nil, err
		}
		r.logs[g] = l
		r.reps[g] = newHubReplica(l, byG[g], cfg.Mesh.Now, func([]crdt.Ticket) { r.saveTickets(cfg.Dir, cfg.Logger) })
	}
	// Joined once all are made: a hand-over saves every replica's tickets.
	for _, g := range order {
		if err := m.Join(ctx, r.reps[g]); err != nil {
			r.Close()
			return nil, fmt.Errorf("join gathering %s: %w", g, err)
		}
	}
	return r, nil
}

// Mesh is the hub's network side.
func (r *Relay) Mesh() *mesh.Mesh { return r.mesh }

// RelayGathering is what a hub knows of one gathering.
type RelayGathering struct {
	ID       crdt.GatheringID `json:"id"`
	Ops      int              `json:"ops"`
	Digest   string           `json:"digest"`
	Peers    int              `json:"peers"`
	LastSync time.Time        `json:"last_sync,omitzero"`
	Epoch    uint64           `json:"epoch"` // the newest epoch a ticket is held for
}

// Gatherings reports each served gathering, by id.
func (r *Relay) Gatherings() []RelayGathering {
	out := make([]RelayGathering, 0, len(r.logs))
	for g, l := range r.logs {
		rg := RelayGathering{ID: g, Ops: l.Len(), Digest: l.Digest(), Epoch: r.reps[g].NewestEpoch()}
		rg.Peers, rg.LastSync = r.mesh.Freshness(g)
		out = append(out, rg)
	}
	slices.SortFunc(out, func(a, b RelayGathering) int { return bytes.Compare(a.ID[:], b.ID[:]) })
	return out
}

// Close stops the mesh and closes the store.
func (r *Relay) Close() error {
	return errors.Join(r.mesh.Close(), r.store.Close())
}
