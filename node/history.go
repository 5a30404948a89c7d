package node

import (
	"github.com/convene/convene/crdt"
	"github.com/convene/convene/node/mesh"
	"github.com/convene/convene/node/recon"
)

// A new laptop is offered the active sessions' operations first (see
// node/mesh/priority.go): the sessions with the latest activity, and the
// membership and authority they are read against. activeSessions is how
// many: a room runs a few sessions at once.
const activeSessions = 3

// Priority is what this node offers first to a peer that lacks much
// (mesh.Prioritizer).
func (n *Node) Priority() []recon.Item {
	n.mu.RLock()
	refs := n.state.Priority(activeSessions, mesh.MaxPriority)
	n.mu.RUnlock()
	items := make([]recon.Item, len(refs))
	for i, r := range refs {
		items[i] = recon.Item{Clock: r.Clock, ID: r.ID}
	}
	return items
}

// A document's "history" while this node catches up: HistoryArriving
// while operations it knows it lacks may still change the document,
// HistoryComplete once the document is final and only other history is
// arriving. Outside a catch-up it is "".
const (
	HistoryArriving = "arriving"
	HistoryComplete = "complete"
)

// History is where the node's catch-up stands.
type History struct{ h mesh.History }

// History reports where the node's catch-up stands. It does not take the
// state's lock: call it before View.
func (n *Node) History() History {
	if hs, ok := n.peerSource().(interface {
		History(crdt.GatheringID) mesh.History
	}); ok {
		return History{hs.History(n.keys.Gathering)}
	}
	return History{}
}

// Of says where session sid's document stands: "" outside a catch-up,
// HistoryComplete or HistoryArriving during one. A session
// is complete when nothing is known lacking, or, during a catch-up, when
// it is one of the active sessions and every operation a peer offered
// first has arrived: those were that peer's active sessions whole, and
// holding them makes them the active sessions here too.
func (h History) Of(st *crdt.State, sid crdt.OpID) string {
	if !h.h.Arriving {
		return ""
	}
	if h.h.PriorityHeld {
		for _, id := range st.ActiveSessions(activeSessions) {
			if id == sid {
				return HistoryComplete
			}
		}
	}
	return HistoryArriving
}

// History reports the mesh's catch-up of g.
func (p meshPeers) History(g crdt.GatheringID) mesh.History { return p.m.History(g) }
