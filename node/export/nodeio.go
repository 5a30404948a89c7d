package export

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/node"
	"github.com/convene/convene/node/mesh"
	"github.com/convene/convene/node/store"
)

// WriteLogBundle writes a bundle of the operations in l with a clock not
// before since (zero: all). It needs no keys, so a hub can write one.
func WriteLogBundle(ctx context.Context, w io.Writer, l *store.Log, since crdt.Clock) error {
	return WriteBundle(w, l.Gathering(), since, func(fn func(raw []byte) error) error {
		return l.Iterate(ctx, func(e *crdt.Envelope) error { return fn(e.Bytes()) })
	})
}

// Ingester is what Import needs of a node (a *node.Node): its keys, and
// the one ingest pipeline (mesh.Replica's Take).
type Ingester interface {
	// Keyring admits and opens operations of every epoch held.
	Keyring() *crdt.Keyring
	Take(ctx context.Context, raws [][]byte, pol mesh.Policy) (node.IngestResult, error)
}

// Import reads a bundle of n's gathering and ingests it, all or nothing:
// beyond the bundle's frame, every operation must pass the door (the
// gathering's admission tag, no clock too far ahead of now), open with the
// gathering's keys and carry a good signature, otherwise nothing is
// ingested. Operations n already holds count as duplicates, so importing a
// bundle twice changes nothing the second time.
//
// The door runs here, before any signature is checked: an outsider's
// bundle (no admission tag) costs one HMAC per distinct operation and no
// signature check. The signatures are checked once, by the pipeline.
func Import(ctx context.Context, n Ingester, r io.Reader, max int64, now time.Time) (node.IngestResult, error) {
	keys := n.Keyring()
	raws, info, err := readFrames(r, keys.Newest().Gathering, max)
	if err != nil {
		return node.IngestResult{}, err
	}
	for i, raw := range raws {
		e, err := crdt.Admit(keys, raw, now.UnixMilli())
		if err == nil {
			err = checkSince(e, info.Since)
		}
		if err == nil {
			// Opening is cheap beside a signature, and an operation that
			// does not open would not be refused by AllOrNothing.
			_, err = keys.Open(e)
		}
		if err != nil {
			return node.IngestResult{}, fmt.Errorf("%w: operation %d: %w", ErrBadBundle, i, err)
		}
	}
	res, err := n.Take(ctx, raws, mesh.AllOrNothing)
	if err != nil {
		return res, fmt.Errorf("import: %w", err)
	}
	if res.Bad > 0 {
		return res, fmt.Errorf("%w: %d operations refused: %w", ErrBadBundle, res.Bad, res.BadErr)
	}
	if res.Rejected > 0 {
		// A node with stricter rules than these refused some, and said why.
		return res, fmt.Errorf("import: %d operations refused by the node: %w", res.Rejected, res.FirstError)
	}
	return res, nil
}
