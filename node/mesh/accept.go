package mesh

import (
	"cmp"
	"context"
	"errors"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/convene/convene/crdt"
)

// Taking in operations, whether they came by gossip or by reconciliation.
//
// Only what shows the peer misbehaving counts against it: a bad signature,
// an operation of another gathering, or one that does not decode. Other
// refusals are not the sending peer's doing, and an honest peer would send
// them again every round, so penalizing them would disconnect it:
//
//   - a duplicate;
//   - a clock too far ahead (crdt.ErrFuture): a laptop whose clock runs
//     ahead makes these, and hubs pass them on without checking drift; a
//     later round brings the operation again, once it is no longer ahead;
//   - a genuinely signed operation this node cannot open (crdt.ErrSealed,
//     or a body that does not decode or validate): a hub verifies
//     signatures but cannot read payloads, so it cannot know.
//
// None of these is stored. The replica sorts them (it is the one that
// checks) and the mesh settles with the sender (take).

// Policy says what Replica.Take does with the good operations of a batch
// that also holds bad ones.
type Policy uint8

const (
	// KeepGood stores the good operations (reconciliation, imports).
	KeepGood Policy = iota
	// AllOrNothing stores none: a gossip message is forwarded or
	// refused whole.
	AllOrNothing
)

// Ingested is what Replica.Take did with a batch.
type Ingested struct {
	// Added counts the operations stored by this call; Fresh holds them,
	// once each, in input order (what a hub forwards).
	Added int
	Fresh []*crdt.Envelope
	// Duplicate counts operations already held or repeated in the batch.
	Duplicate int
	// Rejected counts every other refusal, whoever is at fault, including
	// operations refused recently and refused again without a check;
	// FirstError is the first of their errors.
	Rejected   int
	FirstError error

	// Bad counts the operations that show the sender misbehaving; BadErr
	// is the first of their errors, Forged the first bad signature.
	Bad    int
	BadErr error
	Forged error
	// Unreadable counts the signed operations that could not be opened
	// and had not been refused recently.
	Unreadable int
}

// Refusal says whose fault a refusal is.
type Refusal uint8

const (
	// NotTheSender: a clock too far ahead, or an operation refused
	// recently and refused again without a check (unless a bad signature).
	NotTheSender Refusal = iota
	// Unreadable: signed, but it does not open here (first refusal).
	Unreadable
	// SendersFault: it does not decode, is of another gathering, or its
	// signature is bad.
	SendersFault
)

// Refuse counts an operation refused with err.
func (r *Ingested) Refuse(err error, why Refusal) {
	r.Rejected++
	if r.FirstError == nil {
		r.FirstError = err
	}
	switch why {
	case SendersFault:
		r.Bad++
		if r.BadErr == nil {
			r.BadErr = err
		}
		if r.Forged == nil && errors.Is(err, crdt.ErrSignature) {
			r.Forged = err
		}
	case Unreadable:
		r.Unreadable++
	}
}

// Merge adds o's counts to r (the first errors stay r's where it has them).
func (r *Ingested) Merge(o Ingested) {
	r.Added += o.Added
	r.Fresh = append(r.Fresh, o.Fresh...)
	r.Duplicate += o.Duplicate
	r.Rejected += o.Rejected
	r.Bad += o.Bad
	r.Unreadable += o.Unreadable
	r.FirstError = cmp.Or(r.FirstError, o.FirstError)
	r.BadErr = cmp.Or(r.BadErr, o.BadErr)
	r.Forged = cmp.Or(r.Forged, o.Forged)
}

// take hands a batch from peer p to g's replica, and counts and penalizes
// what shows p misbehaving.
func (m *Mesh) take(ctx context.Context, g *gathering, p peer.ID, raws [][]byte, pol Policy) (Ingested, error) {
	res, err := g.r.Take(ctx, raws, pol)
	m.stats.rejected.Add(int64(res.Bad + res.Unreadable))
	if res.Bad > 0 {
		m.penalize(p, res.Bad, res.BadErr)
	}
	if res.Unreadable > 0 {
		m.log.Debug("not storing signed operations that cannot be opened", "gathering", g.id, "count", res.Unreadable, "err", res.FirstError)
	}
	return res, err
}
