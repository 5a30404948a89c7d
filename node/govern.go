package node

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/convene/convene/crdt"
)

// How a gathering governs itself, on this node: removals, the seating and
// the gathering's name, seats. The rules are crdt's (authority.go,
// govern.go); what is decided here is what the node builds from what it
// holds, under the write lock, so that nothing applied in between changes
// what a removal keeps.

// Remove removes identity from the gathering as the local identity *as (a
// facilitator; nil: the first local facilitator). The removal keeps every
// operation of identity this node holds (crdt.State.RemovalBodies), in as
// many removals as that takes; they are stored together, all or nothing.
// An identity the gathering has never seen is not found.
//
// Removal is half of excluding someone: their laptop still reads what is
// sealed with the current key. The other half is a rotation of the invite
// (POST /invite/rotation), which the facilitator's page offers in the same
// step right after this returns.
func (n *Node) Remove(ctx context.Context, as *crdt.IdentityID, identity crdt.IdentityID, reason string) ([]crdt.Op, error) {
	n.awaitClock(ctx)
	n.writeMu.Lock()
	envs, ops, err := n.remove(ctx, as, identity, reason)
	n.writeMu.Unlock()
	for _, e := range envs {
		n.publish(ctx, e)
	}
	return ops, err
}

// RemoveAndRotate removes identity and, in the same hold of the write
// lock, rotates the invite: the rotation is sealed to the members that
// remain once the removal is applied, so the removed identity gets no
// share. It returns the removals and the rotation operations. If the
// removal fails nothing is rotated; if the rotation fails the removal
// stands (it is stored) and the error says so: rotate again.
func (n *Node) RemoveAndRotate(ctx context.Context, as *crdt.IdentityID, identity crdt.IdentityID, reason string) ([]crdt.Op, []crdt.OpID, error) {
	var secret [32]byte
	if _, err := rand.Read(secret[:]); err != nil {
		return nil, nil, err
	}
	n.writeMu.Lock()
	envs, ops, err := n.remove(ctx, as, identity, reason)
	var rots []*crdt.Envelope
	if err == nil {
		if rots, err = n.rotate(ctx, as, secret); err != nil {
			err = fmt.Errorf("removed, but not rotated: %w", err)
		}
	}
	n.writeMu.Unlock()
	ids := make([]crdt.OpID, len(rots))
	for i, e := range rots {
		ids[i] = e.ID()
	}
	for _, e := range append(envs, rots...) {
		n.publish(ctx, e)
	}
	return ops, ids, err
}

func (n *Node) remove(ctx context.Context, as *crdt.IdentityID, identity crdt.IdentityID, reason string) ([]*crdt.Envelope, []crdt.Op, error) {
	if n.closed {
		return nil, nil, errors.New("node is closed")
	}
	var bodies []*crdt.RemovalBody
	seen := false
	n.View(func(st *crdt.State) {
		for _, m := range st.Members() {
			if m.ID == identity {
				seen = true
				break
			}
		}
		bodies = st.RemovalBodies(identity, reason)
	})
	if !seen {
		return nil, nil, fmt.Errorf("%w: no identity %s in this gathering", crdt.ErrNotFound, identity)
	}
	gov := make([]crdt.Body, len(bodies))
	for i, b := range bodies {
		gov[i] = b
	}
	return n.actAll(ctx, as, gov)
}

// SetGathering renames the gathering and/or sets its seating (nil: leave
// as is), as one step: both are checked before either is made.
func (n *Node) SetGathering(ctx context.Context, as *crdt.IdentityID, name, seating *string) (crdt.Gathering, error) {
	var bodies []crdt.Body
	if name != nil {
		bodies = append(bodies, &crdt.GatheringBody{Name: *name})
	}
	if seating != nil {
		bodies = append(bodies, &crdt.SeatingBody{Seating: *seating})
	}
	if len(bodies) == 0 {
		return crdt.Gathering{}, fmt.Errorf("%w: nothing to change: give name and/or seating", crdt.ErrInvalid)
	}
	n.awaitClock(ctx)
	n.writeMu.Lock()
	if n.closed {
		n.writeMu.Unlock()
		return crdt.Gathering{}, errors.New("node is closed")
	}
	envs, _, err := n.actAll(ctx, as, bodies)
	n.writeMu.Unlock()
	for _, e := range envs {
		n.publish(ctx, e)
	}
	var g crdt.Gathering
	n.View(func(st *crdt.State) { g = st.Gathering() })
	return g, err
}

// Seat seats (or unseats) a group.
func (n *Node) Seat(ctx context.Context, as *crdt.IdentityID, group crdt.OpID, seated bool) error {
	_, err := n.ActAs(ctx, as, &crdt.SeatBody{Group: group, Seated: seated})
	return err
}

// actAll makes bodies as one identity (picked, when as is nil, as for the
// first body), after checking every one of them, and stores them in turn.
// The caller holds writeMu. What was made before an error stays made and
// is returned with it (only a failing disk can cause that, since every body
// passed Check first).
func (n *Node) actAll(ctx context.Context, as *crdt.IdentityID, bodies []crdt.Body) ([]*crdt.Envelope, []crdt.Op, error) {
	k, err := n.actor(as, bodies[0])
	if err != nil {
		return nil, nil, err
	}
	for _, b := range bodies {
		n.View(func(st *crdt.State) { err = st.Check(k.ID, b) })
		if err != nil {
			return nil, nil, err
		}
	}
	var envs []*crdt.Envelope
	var ops []crdt.Op
	for _, b := range bodies {
		env, op, err := n.act(ctx, k.signer, b, nil)
		if err != nil {
			return envs, ops, err
		}
		envs, ops = append(envs, env), append(ops, op)
	}
	return envs, ops, nil
}
