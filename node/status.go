package node

import (
	"context"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/node/mesh"
)

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
	Clock     ClockStatus      `json:"clock"`
	// Epoch is the newest epoch this node holds the secret of, the one it
	// writes in: a rotation advances it (0 before any).
	Epoch uint64 `json:"epoch"`
}

// ClockStatus is this laptop's clock against the room's: OffsetMS is the
// room's time minus this laptop's (negative when the laptop is ahead),
// measured from Peers peers; Warning is set past mesh.ClockWarning.
type ClockStatus struct {
	OffsetMS int64  `json:"offset_ms"`
	Peers    int    `json:"peers"`
	Warning  bool   `json:"warning"`
	Message  string `json:"message,omitempty"` // with Warning: what the pages and the CLI show
	// AheadMS, when set, is how far this laptop's own operations are
	// stamped ahead of the room's time, past what others accept (they were
	// made before its clock was corrected); Warning is then set.
	AheadMS int64 `json:"ahead_ms,omitempty"`
}

// clockStatus reports a measured offset.
func clockStatus(offset time.Duration, peers int) ClockStatus {
	c := ClockStatus{OffsetMS: offset.Milliseconds(), Peers: peers, Warning: offset.Abs() > mesh.ClockWarning}
	if c.Warning {
		side := "ahead of"
		if offset > 0 {
			side = "behind"
		}
		c.Message = fmt.Sprintf("this laptop's clock is %s %s the room", roughly(offset.Abs()), side)
	}
	return c
}

// roughly says a duration the way a person would: "58 min", "3 h 5 min".
func roughly(d time.Duration) string {
	m := int64(d.Round(time.Minute) / time.Minute)
	if m < 60 {
		return fmt.Sprintf("%d min", m)
	}
	if m%60 == 0 {
		return fmt.Sprintf("%d h", m/60)
	}
	return fmt.Sprintf("%d h %d min", m/60, m%60)
}

// Publisher sends a new local operation to peers (the mesh's gossip).
type Publisher interface {
	Publish(ctx context.Context, g crdt.GatheringID, raw []byte) error
}

// PeerSource tells the node about its network side, for Status.
type PeerSource interface {
	Peers() []Peer
	Freshness(crdt.GatheringID) Freshness
	// Clock is this laptop's offset from the room and how many peers it
	// was measured from.
	Clock() (offset time.Duration, peers int)
	ID() string
	Addrs() []string
}

// Invite is the invite to this gathering, with the node's addresses.
func (n *Node) Invite() Invite {
	inv := Invite{Credentials: n.creds, Name: n.gatheringName(), Epochs: n.Epochs()}
	inv.Addrs = InviteAddrs(n.Status().Addrs, n.learned())
	return inv
}

func (n *Node) namePeerIdentities(ps []Peer) {
	n.mu.RLock()
	defer n.mu.RUnlock()
	for i := range ps {
		for j := range ps[i].Identities {
			if id, ok := n.state.Identity(ps[i].Identities[j].ID); ok {
				ps[i].Identities[j].Name = id.Name
			}
		}
	}
}

func (n *Node) gatheringName() string {
	n.mu.RLock()
	defer n.mu.RUnlock()
	if s := n.state.Name(); s != "" {
		return s
	}
	return n.name
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
		Epoch:     n.ring.Newest().Epoch,
	}
	if size, err := n.st.DiskUsage(context.Background()); err == nil {
		s.StoreSize = size
	}
	ps := n.peerSource()
	if ps != nil {
		s.PeerID = ps.ID()
		s.Addrs = ps.Addrs()
		s.Peers = ps.Peers()
		n.namePeerIdentities(s.Peers)
		s.Freshness = ps.Freshness(n.keys.Gathering)
		s.Clock = clockStatus(ps.Clock())
	} else if id, err := peer.IDFromPrivateKey(n.pkey); err == nil {
		s.PeerID = id.String()
	}
	n.noteAhead(&s.Clock)
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
