package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/convene/convene/crdt"
)

// ConflictError is an edit refused because its base is not the proposal's
// current heads. It wraps crdt.ErrConflict and carries the heads, so that
// the editor can re-read them and try again.
type ConflictError struct {
	Proposal crdt.OpID
	Heads    []crdt.OpID // sorted
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("%v: base is not the current heads of proposal %s; re-read the proposal and edit again", crdt.ErrConflict, e.Proposal)
}

func (e *ConflictError) Unwrap() error { return crdt.ErrConflict }

// ActAs makes an operation as the local identity *as or, when as is nil,
// as the first local identity (the default first) that the rules allow to
// make it — for a group's acts, a scribe of the group; for facilitator acts,
// a facilitator. When none may, the first one with the standing to make it
// tries (a scribe facing a full session), or else the default identity, so
// that the error carries the rules' reason. The choice and the operation
// are made under the write lock, so no other write comes between them.
func (n *Node) ActAs(ctx context.Context, as *crdt.IdentityID, body crdt.Body) (crdt.Op, error) {
	n.awaitClock(ctx)
	n.writeMu.Lock()
	env, op, err := n.actAs(ctx, as, body)
	n.writeMu.Unlock()
	if err != nil {
		return crdt.Op{}, err
	}
	n.publish(ctx, env)
	return op, nil
}

// actAs is ActAs under writeMu.
func (n *Node) actAs(ctx context.Context, as *crdt.IdentityID, body crdt.Body) (*crdt.Envelope, crdt.Op, error) {
	k, err := n.actor(as, body)
	if err != nil {
		return nil, crdt.Op{}, err
	}
	return n.act(ctx, k.signer, body, nil)
}

// actor is the local identity *as, or the one pick chooses for body.
func (n *Node) actor(as *crdt.IdentityID, body crdt.Body) (localKey, error) {
	if as == nil {
		k, _ := n.identity(n.pick(body))
		return k, nil
	}
	if k, ok := n.identity(*as); ok && (*as != crdt.IdentityID{}) {
		return k, nil
	}
	return localKey{}, fmt.Errorf("%w: %s", ErrUnknownIdentity, *as)
}

// pick chooses who acts when the request names nobody (see ActAs). The
// caller holds writeMu.
func (n *Node) pick(body crdt.Body) crdt.IdentityID {
	ids := n.Identities() // the default first
	n.mu.RLock()
	defer n.mu.RUnlock()
	who, standing := ids[0].ID, false
	for _, li := range ids {
		err := n.state.Check(li.ID, body)
		if err == nil {
			return li.ID
		}
		if !standing && !errors.Is(err, crdt.ErrNotScribe) && !errors.Is(err, crdt.ErrForbidden) {
			who, standing = li.ID, true
		}
	}
	return who
}

// Revise edits proposal pid as group. base names the revision(s) the edit
// starts from, in any order and with repeats; it must be the proposal's
// current heads, or the answer is a *ConflictError carrying them.
func (n *Node) Revise(ctx context.Context, as *crdt.IdentityID, pid, group crdt.OpID, text string, base []crdt.OpID) (crdt.Op, error) {
	if len(base) == 0 {
		return crdt.Op{}, fmt.Errorf("%w: base must name the revision(s) the edit starts from", crdt.ErrInvalid)
	}
	if len(base) > crdt.MaxParents {
		return crdt.Op{}, fmt.Errorf("%w: base names at most %d revisions", crdt.ErrInvalid, crdt.MaxParents)
	}
	parents := slices.Clone(base)
	slices.SortFunc(parents, compareID)
	parents = slices.Compact(parents)

	n.awaitClock(ctx)
	n.writeMu.Lock()
	env, op, err := n.revise(ctx, as, &crdt.RevisionBody{Proposal: pid, Group: group, Text: text, Parents: parents})
	n.writeMu.Unlock()
	if err != nil {
		return crdt.Op{}, err
	}
	n.publish(ctx, env)
	return op, nil
}

// revise is Revise under writeMu. The heads are compared first, as the
// edit's first rule: an editor who is behind learns the heads before
// anything else.
func (n *Node) revise(ctx context.Context, as *crdt.IdentityID, body *crdt.RevisionBody) (*crdt.Envelope, crdt.Op, error) {
	var p crdt.Proposal
	var ok bool
	n.View(func(st *crdt.State) { p, _, ok = st.Proposal(body.Proposal) })
	if !ok {
		return nil, crdt.Op{}, fmt.Errorf("%w: proposal %s", crdt.ErrNotFound, body.Proposal)
	}
	heads := slices.Clone(p.Heads)
	slices.SortFunc(heads, compareID)
	if !slices.Equal(heads, body.Parents) {
		return nil, crdt.Op{}, &ConflictError{Proposal: body.Proposal, Heads: heads}
	}
	return n.actAs(ctx, as, body)
}

// Endorse endorses, or withdraws group's endorsement of, the revision of
// proposal pid that is shown now, read under the write lock so that no
// edit comes between reading it and endorsing it.
func (n *Node) Endorse(ctx context.Context, as *crdt.IdentityID, pid, group crdt.OpID, endorse bool) error {
	n.awaitClock(ctx)
	n.writeMu.Lock()
	env, _, err := n.endorse(ctx, as, pid, group, endorse)
	n.writeMu.Unlock()
	if err != nil {
		return err
	}
	n.publish(ctx, env)
	return nil
}

func (n *Node) endorse(ctx context.Context, as *crdt.IdentityID, pid, group crdt.OpID, endorse bool) (*crdt.Envelope, crdt.Op, error) {
	var p crdt.Proposal
	var ok bool
	n.View(func(st *crdt.State) { p, _, ok = st.Proposal(pid) })
	if !ok {
		return nil, crdt.Op{}, fmt.Errorf("%w: proposal %s", crdt.ErrNotFound, pid)
	}
	return n.actAs(ctx, as, &crdt.EndorseBody{Proposal: pid, Group: group, Revision: p.Revision, Endorse: endorse})
}

// Register records that the local identity who is going, maybe going or
// not going to event eid, and returns the registration as the event now
// shows it. Registering again with the status one has makes no operation:
// a second click on "going" must not move its author down the waitlist.
func (n *Node) Register(ctx context.Context, who crdt.IdentityID, eid crdt.OpID, status string) (crdt.Participant, error) {
	if _, ok := n.identity(who); !ok || (who == crdt.IdentityID{}) {
		return crdt.Participant{}, fmt.Errorf("%w: only an identity held on this node can register here", crdt.ErrForbidden)
	}
	n.awaitClock(ctx)
	n.writeMu.Lock()
	env, reg, err := n.register(ctx, who, eid, status)
	n.writeMu.Unlock()
	if err != nil {
		return crdt.Participant{}, err
	}
	if env != nil {
		n.publish(ctx, env)
	}
	return reg, nil
}

// register is Register under writeMu; env is nil when nothing changed.
func (n *Node) register(ctx context.Context, who crdt.IdentityID, eid crdt.OpID, status string) (*crdt.Envelope, crdt.Participant, error) {
	if reg := n.registration(who, eid); reg.Status == status {
		return nil, reg, nil
	}
	env, _, err := n.actAs(ctx, &who, &crdt.ParticipationBody{Event: eid, Status: status})
	if err != nil {
		return nil, crdt.Participant{}, err
	}
	return env, n.registration(who, eid), nil
}

// registration is who's current registration for eid (zero when none).
func (n *Node) registration(who crdt.IdentityID, eid crdt.OpID) crdt.Participant {
	reg := crdt.Participant{Identity: who}
	n.View(func(st *crdt.State) {
		e, _ := st.Event(eid)
		for _, p := range e.Participants {
			if p.Identity == who {
				reg = p
			}
		}
	})
	return reg
}

func compareID(a, b crdt.OpID) int { return bytes.Compare(a[:], b[:]) }
