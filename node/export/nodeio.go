package export

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/node"
	"github.com/convene/convene/node/store"
)

// WriteLogBundle writes a bundle of the operations in l with a clock not
// before since (zero: all). It needs no keys, so a hub can write one.
func WriteLogBundle(ctx context.Context, w io.Writer, l *store.Log, since crdt.Clock) error {
	return WriteBundle(w, l.Gathering(), since, func(fn func(raw []byte) error) error {
		return l.Iterate(ctx, func(e *crdt.Envelope) error { return fn(e.Bytes()) })
	})
}

// Ingester is what Import needs of a node (a *node.Node).
type Ingester interface {
	Keys() crdt.Keys
	Ingest(ctx context.Context, raws [][]byte) (node.IngestResult, error)
}

// Import reads a bundle of n's gathering and ingests it, all or nothing:
// beyond ReadBundle's checks, every payload must open and validate with the
// gathering's keys and no clock may be too far ahead of now, otherwise
// nothing is ingested. Operations n already holds count as duplicates, so
// importing a bundle twice changes nothing the second time.
func Import(ctx context.Context, n Ingester, r io.Reader, max int64, now time.Time) (node.IngestResult, error) {
	keys := n.Keys()
	raws, err := ReadBundle(r, keys.Gathering, max)
	if err != nil {
		return node.IngestResult{}, err
	}
	for i, raw := range raws {
		// ReadBundle verified the signatures; the payloads remain.
		e, err := crdt.DecodeEnvelope(raw)
		if err == nil {
			_, err = keys.Open(e)
		}
		if err == nil {
			err = crdt.CheckDrift(e.Clock, now.UnixMilli())
		}
		if err != nil {
			return node.IngestResult{}, fmt.Errorf("%w: operation %d: %w", ErrBadBundle, i, err)
		}
	}
	res, err := n.Ingest(ctx, raws)
	if err != nil {
		return res, fmt.Errorf("import: %w", err)
	}
	if res.Rejected > 0 {
		// Checked above; a node with stricter rules than these refused
		// some, and said why.
		return res, fmt.Errorf("import: %d operations refused by the node: %w", res.Rejected, res.FirstError)
	}
	return res, nil
}
