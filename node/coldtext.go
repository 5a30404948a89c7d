package node

import (
	"context"
	"fmt"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/node/recon"
)

// storedText reads back the texts the state holds cold (crdt/cold.go): every
// operation the state holds was stored before it was applied, so its
// envelope is in the log, and opening it again gives its text.
type storedText struct{ n *Node }

// ColdText reads an operation's envelope by its clock and id and opens
// it. The state asks while computing a view, which has no context of its
// own (and holds its lock: the clock comes with the question); a read is
// one point lookup in the store.
func (t storedText) ColdText(id crdt.OpID, clock crdt.Clock) (string, error) {
	raw, ok, err := t.n.storedAt(context.Background(), recon.Item{Clock: clock, ID: id})
	if err != nil {
		return "", err
	}
	if !ok {
		return "", fmt.Errorf("operation %s is not stored", id)
	}
	e, err := crdt.DecodeEnvelope(raw)
	if err != nil {
		return "", fmt.Errorf("stored operation %s: %w", id, err)
	}
	op, err := t.n.ring.Open(e)
	if err != nil {
		return "", fmt.Errorf("stored operation %s: %w", id, err)
	}
	return crdt.BodyText(op.Body), nil
}
