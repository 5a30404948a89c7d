package node

import (
	"cmp"
	"context"
	"crypto/rand"
	"fmt"
	"slices"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/node/mesh"
)

// Rotate starts the next epoch as the local identity *as, or when as is
// nil the first local identity that is a facilitator (as ActAs picks): a
// fresh secret, sealed to every identity the state knows that is not
// removed, in as many rotation operations as that takes, all sealed under
// the current epoch. From then on the node seals under the new epoch.
func (n *Node) Rotate(ctx context.Context, as *crdt.IdentityID) ([]crdt.OpID, error) {
	var secret [32]byte
	if _, err := rand.Read(secret[:]); err != nil {
		return nil, err
	}
	n.awaitClock(ctx)
	n.writeMu.Lock()
	envs, err := n.rotate(ctx, as, secret)
	n.writeMu.Unlock()
	ids := make([]crdt.OpID, len(envs))
	for i, env := range envs {
		ids[i] = env.ID()
		n.publish(ctx, env)
	}
	return ids, err
}

// rotate does Rotate's work under writeMu and returns what it stored.
func (n *Node) rotate(ctx context.Context, as *crdt.IdentityID, secret [32]byte) ([]*crdt.Envelope, error) {
	var who crdt.IdentityID
	if as != nil {
		who = *as
	} else {
		who = n.pick(&crdt.RotationBody{Epoch: 1, Shares: []crdt.Share{{}}})
	}
	k, ok := n.identity(who)
	if !ok || who == (crdt.IdentityID{}) && as != nil {
		return nil, fmt.Errorf("%w: %s", ErrUnknownIdentity, who)
	}
	s := k.signer
	n.mu.RLock()
	err := n.state.Check(s.ID, &crdt.RotationBody{Epoch: 1, Shares: []crdt.Share{{}}})
	var to []crdt.IdentityID
	for _, m := range n.state.Members() {
		if !m.Removed {
			to = append(to, m.ID)
		}
	}
	n.mu.RUnlock()
	if err != nil {
		return nil, fmt.Errorf("rotate: %w", err)
	}
	bodies, err := n.ring.Newest().Rotate(s, secret, append(to, s.ID))
	if err != nil {
		return nil, fmt.Errorf("rotate: %w", err)
	}
	// Every part is sealed before this node takes the new epoch, so that
	// all are under the current one.
	envs := make([]*crdt.Envelope, 0, len(bodies))
	ops := make([]crdt.Op, 0, len(bodies))
	for _, b := range bodies {
		env, op, err := n.act(ctx, s, b, nil)
		if err != nil {
			// The parts stored so far are sent: each gives its members
			// the epoch, and a later rotation reaches the others.
			n.takeRotations(ops)
			return envs, fmt.Errorf("rotate: %w", err)
		}
		envs, ops = append(envs, env), append(ops, op)
	}
	n.takeRotations(ops)
	return envs, nil
}

// takeRotations opens this node's shares of the rotations among ops, so
// that a member holds the next epoch without doing anything. A rotation
// counts only from a facilitator, and only to the epoch after the one it
// was sealed under. One whose author is not (yet) a facilitator here waits
// in pending: the appointment may come in a later batch. The caller holds
// writeMu.
func (n *Node) takeRotations(ops []crdt.Op) {
	for _, op := range ops {
		if b, ok := op.Body.(*crdt.RotationBody); ok && op.Epoch()+1 == b.Epoch && !n.ring.holds(b.Epoch, op.ID) {
			n.pendingRot = append(n.pendingRot, pendingRotation{epoch: op.Epoch(), op: op, b: b})
		}
	}
	if len(n.pendingRot) == 0 {
		return
	}
	n.idMu.RLock()
	ids := n.ids
	n.idMu.RUnlock()
	left := n.pendingRot[:0]
	for _, p := range n.pendingRot {
		n.mu.RLock()
		facil := n.state.IsFacilitator(p.op.Author())
		n.mu.RUnlock()
		if !facil {
			left = append(left, p)
			continue
		}
		n.takeShare(ids, p)
	}
	n.pendingRot = left
}

// pendingRotation is a rotation waiting for its author's appointment.
type pendingRotation struct {
	epoch uint64 // the epoch it was sealed under
	op    crdt.Op
	b     *crdt.RotationBody
}

// takeShare opens the share of the first local identity the rotation
// gives one, and holds the epoch.
func (n *Node) takeShare(ids []localKey, p pendingRotation) {
	for _, id := range ids {
		// Only the gathering and founder of the keys passed are read,
		// which every epoch shares.
		secret, next, mine, err := p.b.OpenShare(id.signer, p.op.Author(), n.keys)
		if !mine {
			continue
		}
		if err != nil {
			n.log.Warn("a rotation share does not open", "op", p.op.ID, "err", err)
			continue
		}
		if changed, err := n.ring.take(p.b.Epoch, secret, p.op.ID, next); err != nil {
			n.log.Error("cannot keep the next epoch's keys", "epoch", p.b.Epoch, "err", err)
		} else if changed {
			n.log.Info("holding a new epoch", "epoch", p.b.Epoch, "rotation", p.op.ID)
		}
		return
	}
}

var _ mesh.HandoverSource = (*Node)(nil)

// Handovers are the hand-overs of the counting rotations (a facilitator's,
// sealed under the epoch before the one they start) to epochs after
// after, oldest epoch first, one per rotation (its parts share one): what
// this member hands a hub that asks (mesh/handover.go).
func (n *Node) Handovers(after uint64) []crdt.Handover {
	var out []crdt.Handover
	seen := make(map[[16]byte]bool)
	n.mu.RLock()
	defer n.mu.RUnlock()
	for _, op := range n.state.Rotations() {
		b := op.Body.(*crdt.RotationBody)
		if b.Epoch <= after || op.Epoch()+1 != b.Epoch || seen[b.Commit] || !n.state.IsFacilitator(op.Author()) {
			continue
		}
		seen[b.Commit] = true
		out = append(out, b.Handover())
	}
	slices.SortStableFunc(out, func(a, b crdt.Handover) int { return cmp.Compare(a.Epoch, b.Epoch) })
	return out
}
