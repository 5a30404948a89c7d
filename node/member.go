package node

import (
	"context"
	"errors"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/node/mesh"
)

// The member's end of the ingest pipeline: it opens what it verified, and
// commits by storing and then applying.

// member is the keeper of a node that holds the gathering's keys.
type member struct{ n *Node }

var _ mesh.Replica = (*Node)(nil)

// Ingest takes in encoded operations from elsewhere (bundles, the HTTP
// import), keeping the good ones of a batch that holds bad ones. See
// IngestResult for what it counts.
func (n *Node) Ingest(ctx context.Context, raws [][]byte) (IngestResult, error) {
	return n.Take(ctx, raws, mesh.KeepGood)
}

// Take is the mesh's way in to the ingest pipeline (mesh.Replica).
func (n *Node) Take(ctx context.Context, raws [][]byte, pol mesh.Policy) (IngestResult, error) {
	return n.in.ingest(ctx, raws, pol)
}

// SignatureChecks counts the signatures the ingest pipeline has checked
// since the node opened: the figure that shows a duplicate, or an
// outsider's operation refused at the door, costs none.
func (n *Node) SignatureChecks() int64 { return n.in.verified.Load() }

// held asks the state rather than the log: the log's index is locked for
// the whole of a synced write, which would stall the checks that the
// pipeline overlaps with it. An operation stored but not yet applied (or
// stored but unreadable) is checked in full and then found stored by the
// write.
func (m member) held(e *crdt.Envelope) bool {
	m.n.mu.RLock()
	defer m.n.mu.RUnlock()
	return m.n.state.Has(e.ID())
}

func (m member) open(e *crdt.Envelope, buf []byte) (crdt.Op, []byte, error) {
	return m.n.ring.OpenInto(e, buf)
}

// commit stores accepted operations as one synced batch, then applies the
// new ones.
func (m member) commit(ctx context.Context, envs []*crdt.Envelope, ops []crdt.Op) ([]*crdt.Envelope, error) {
	n := m.n
	n.writeMu.Lock()
	defer n.writeMu.Unlock()
	if n.closed {
		return nil, errors.New("node is closed")
	}
	fresh, err := n.oplog.PutNew(ctx, envs)
	if err != nil {
		return nil, err
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
	n.takeRotations(ops)
	return fresh, nil
}
