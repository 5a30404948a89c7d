package node

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/convene/convene/crdt"
)

// Act makes, stores (synced) and applies an operation signed by the local
// identity as (the default identity if as is zero), after State.Check.
// When it returns nil the operation is durable.
func (n *Node) Act(ctx context.Context, as crdt.IdentityID, body crdt.Body) (crdt.Op, error) {
	k, ok := n.identity(as)
	if !ok {
		return crdt.Op{}, fmt.Errorf("%w: %s", ErrUnknownIdentity, as)
	}
	n.awaitClock(ctx)
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
	keys := n.ring.Newest()
	n.mu.RLock()
	err := n.state.Check(s.ID, body)
	if err == nil && !n.state.MayWrite(s.ID, keys.Epoch) {
		err = fmt.Errorf("%w: %s", ErrRotatedOut, s.ID)
	}
	n.mu.RUnlock()
	if err != nil {
		return nil, crdt.Op{}, err
	}
	env, op, err := keys.Seal(s, n.hlc.Now(n.now().UnixMilli()), body)
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
	fresh := make([]bool, len(ops))
	n.mu.Lock()
	places := n.flags.watch(n.state, ops, local)
	for i, op := range ops {
		if fresh[i] = n.state.Apply(op); fresh[i] {
			n.unsaved++
		}
		n.hlc.Observe(op.Clock)
		n.hlcWall.Store(n.hlc.Last().Wall)
		c := Change{Op: op.ID, Kind: op.Body.Kind(), Local: local}
		c.Session, c.Event = n.state.Touches(op)
		c.All = n.state.TouchesAll(op)
		changes = append(changes, c)
	}
	n.flags.judge(n.state, places, ops, fresh, local, n.now())
	n.mu.Unlock()
	n.notify(changes)
}
