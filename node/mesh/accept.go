package mesh

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/node/recon"
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
// None of these is stored.

// verdict is what checking a batch of operations found.
type verdict struct {
	envs []*crdt.Envelope // to store: new and valid
	// bad counts the operations that show the sender misbehaving; badErr
	// is the first of their errors, forged the first bad signature.
	bad    int
	badErr error
	forged error
	// unreadable counts the signed operations that could not be opened,
	// not already counted in seen.
	unreadable int
}

// check runs g's replica's Accept on every operation of a batch and sorts
// the results. seen, if not nil, holds the ids of unreadable operations
// already counted in this session; new ones are added to it.
func (m *Mesh) check(g *gathering, raws [][]byte, seen map[crdt.OpID]struct{}) verdict {
	var v verdict
	results := acceptAll(g.r, raws)
	v.envs = make([]*crdt.Envelope, 0, len(raws))
	for i, c := range results {
		err := c.err
		switch {
		case err == nil:
			v.envs = append(v.envs, c.env)
		case errors.Is(err, crdt.ErrDuplicate), errors.Is(err, crdt.ErrFuture):
		case errors.Is(err, crdt.ErrSignature), errors.Is(err, crdt.ErrForeign), errors.Is(err, crdt.ErrTooLarge), errors.Is(err, crdt.ErrAdmission):
			v.addBad(err)
		default:
			// The replica could not take it; find out whether the envelope
			// itself is at fault (it does not decode) or only its payload,
			// which the signer, not the sender, answers for.
			e, aerr := crdt.AcceptSealed(g.id, raws[i])
			if aerr != nil {
				v.addBad(aerr)
				continue
			}
			if seen != nil {
				if _, ok := seen[e.ID()]; ok {
					continue
				}
				seen[e.ID()] = struct{}{}
			}
			v.unreadable++
			m.log.Debug("not storing a signed operation that cannot be opened", "gathering", g.id, "op", e.ID(), "err", err)
		}
	}
	return v
}

func (v *verdict) addBad(err error) {
	v.bad++
	if v.badErr == nil {
		v.badErr = err
	}
	if v.forged == nil && errors.Is(err, crdt.ErrSignature) {
		v.forged = err
	}
}

type checked struct {
	env *crdt.Envelope
	err error
}

// acceptAll runs r.Accept on each raw, on every core for a large batch:
// the signature checks are nearly all the cost of taking in a batch, and
// each is independent.
func acceptAll(r Replica, raws [][]byte) []checked {
	out := make([]checked, len(raws))
	workers := min(len(raws)/32, runtime.GOMAXPROCS(0))
	if workers <= 1 {
		for i, raw := range raws {
			out[i].env, out[i].err = r.Accept(raw)
		}
		return out
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(raws) {
					return
				}
				out[i].env, out[i].err = r.Accept(raws[i])
			}
		})
	}
	wg.Wait()
	return out
}

// store stores accepted envelopes and returns how many the replica added
// and which of envs (once each) were not held before. The stores of one gathering
// are serialised, so that what was new is exact for everything arriving
// through the mesh: a hub forwards only that.
func (m *Mesh) store(ctx context.Context, g *gathering, envs []*crdt.Envelope) (int, []*crdt.Envelope, error) {
	g.storeMu.Lock()
	defer g.storeMu.Unlock()
	var fresh []*crdt.Envelope
	seen := make(map[crdt.OpID]struct{}, len(envs))
	g.r.ReadIndex(func(ix *recon.Index) {
		for _, e := range envs {
			if _, dup := seen[e.ID()]; dup {
				continue
			}
			seen[e.ID()] = struct{}{}
			if !ix.Has(recon.Item{Clock: e.Clock, ID: e.ID()}) {
				fresh = append(fresh, e)
			}
		}
	})
	if len(fresh) == 0 {
		return 0, nil, nil
	}
	added, err := g.r.Store(ctx, fresh)
	if err != nil {
		return 0, nil, err
	}
	return added, fresh, nil
}
