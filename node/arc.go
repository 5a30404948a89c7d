package node

import (
	"context"
	"errors"
	"fmt"

	"github.com/convene/convene/crdt"
)

// Translations and the agenda on this node (the rules are crdt's,
// translate.go and agenda.go).

// Translate adds group's translation of proposal pid into lang. revision
// names the revision the translator read; nil means the one shown now,
// read under the write lock so that no edit comes between reading it and
// translating it. A translation of an older revision is made all the same
// and shows as stale.
func (n *Node) Translate(ctx context.Context, as *crdt.IdentityID, pid, group crdt.OpID, lang, from, text string, revision *crdt.OpID) (crdt.Op, error) {
	n.writeMu.Lock()
	body := &crdt.TranslationBody{Proposal: pid, Group: group, Lang: lang, From: from, Text: text}
	if revision != nil {
		body.Revision = *revision
	} else {
		var p crdt.Proposal
		var ok bool
		n.View(func(st *crdt.State) { p, _, ok = st.Proposal(pid) })
		if !ok {
			n.writeMu.Unlock()
			return crdt.Op{}, fmt.Errorf("%w: proposal %s", crdt.ErrNotFound, pid)
		}
		body.Revision = p.Revision
	}
	env, op, err := n.actAs(ctx, as, body)
	n.writeMu.Unlock()
	if err != nil {
		return crdt.Op{}, err
	}
	n.publish(ctx, env)
	return op, nil
}

// UpdateSession changes a session's fields (upd, nil for none) and/or its
// agenda (nil: leave as is) as one step: every operation is checked before
// any is made.
func (n *Node) UpdateSession(ctx context.Context, as *crdt.IdentityID, upd *crdt.SessionUpdateBody, agenda *crdt.AgendaBody) error {
	var bodies []crdt.Body
	if upd != nil {
		bodies = append(bodies, upd)
	}
	if agenda != nil {
		bodies = append(bodies, agenda)
	}
	if len(bodies) == 0 {
		return fmt.Errorf("%w: session update changes nothing", crdt.ErrInvalid)
	}
	n.writeMu.Lock()
	if n.closed {
		n.writeMu.Unlock()
		return errors.New("node is closed")
	}
	envs, _, err := n.actAll(ctx, as, bodies)
	n.writeMu.Unlock()
	for _, e := range envs {
		n.publish(ctx, e)
	}
	return err
}
