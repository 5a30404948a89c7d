package main

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"slices"
	"time"

	"github.com/convene/convene/crdt"
)

// benchRotation measures a rotation of the invite (issue 10) in process,
// for 60 and 600 members: the size of its operations (at most 340 shares
// each), the time a facilitator's node takes to make them, and the time a
// member takes to apply them: open each envelope, find and open its share,
// and fold them into a state that holds every member (where the rotation
// closes the old epoch to those it was not sealed to).
func benchRotation(ctx context.Context, _ *lab, cfg config) section {
	sec := section{name: "rotation", title: "Rotation of the invite"}
	runs := 21
	if cfg.quick {
		runs = 5
	}
	table := "| members | operations | bytes | make (median) | apply by a member (median) |\n|---|---|---|---|---|\n"
	for _, n := range []int{60, 600} {
		if ctx.Err() != nil {
			sec.err = ctx.Err()
			return sec
		}
		r, err := rotationAt(n, runs)
		if err != nil {
			sec.err = fmt.Errorf("%d members: %w", n, err)
			return sec
		}
		table += fmt.Sprintf("| %d | %d | %d | %s | %s |\n", n, r.ops, r.bytes, r.make.Round(10*time.Microsecond), r.apply.Round(time.Microsecond))
	}
	sec.details = append(sec.details,
		fmt.Sprintf("in process, median of %d runs; a share is 80 bytes (identity and box), an operation carries at most %d, and the member measured is the last one (its share in the last operation)", runs, crdt.MaxShares),
		"apply = open every rotation operation, open the member's share and check it against the commit, then apply the operations to a state holding every member's name and read it (the fold settles who the closed epoch stays open to)")
	sec.growth = append(sec.growth, table)
	return sec
}

type rotationFigures struct {
	ops, bytes  int
	make, apply time.Duration
}

func rotationAt(n, runs int) (rotationFigures, error) {
	var out rotationFigures
	signer := func(i int) crdt.Signer {
		seed := sha256.Sum256(fmt.Appendf(nil, "bench rotation member %d", i))
		s, _ := crdt.NewSigner(ed25519.NewKeyFromSeed(seed[:]))
		return s
	}
	fac := signer(0)
	cur := crdt.Credentials{Secret: sha256.Sum256([]byte("bench rotation")), Founder: fac.ID}.Derive()
	ids := make([]crdt.IdentityID, n)
	var names []crdt.Op
	for i := range n {
		s := signer(i)
		ids[i] = s.ID
		_, op, err := cur.Seal(s, crdt.Clock{Wall: int64(1 + i)}, &crdt.IdentityBody{Name: fmt.Sprint("member ", i)})
		if err != nil {
			return out, err
		}
		names = append(names, op)
	}
	last := signer(n - 1)
	secret := sha256.Sum256([]byte("next"))
	var makes, applies []time.Duration
	var envs []*crdt.Envelope
	for range runs {
		start := time.Now()
		bodies, err := cur.Rotate(fac, secret, ids)
		if err != nil {
			return out, err
		}
		envs = envs[:0]
		for i, b := range bodies {
			env, _, err := cur.Seal(fac, crdt.Clock{Wall: int64(n + 1 + i)}, b)
			if err != nil {
				return out, err
			}
			envs = append(envs, env)
		}
		makes = append(makes, time.Since(start))
	}
	out.ops = len(envs)
	for _, e := range envs {
		out.bytes += len(e.Bytes())
	}
	for range runs {
		st := crdt.NewState(fac.ID)
		for _, op := range names {
			st.Apply(op)
		}
		start := time.Now()
		for _, e := range envs {
			op, err := cur.Open(e)
			if err != nil {
				return out, err
			}
			if _, _, _, err := op.Body.(*crdt.RotationBody).OpenShare(last, fac.ID, cur); err != nil {
				return out, err
			}
			st.Apply(op)
		}
		if !st.MayWrite(last.ID, 0) {
			return out, fmt.Errorf("the rotation left out a member it was sealed to")
		}
		applies = append(applies, time.Since(start))
	}
	out.make, out.apply = median(makes), median(applies)
	return out, nil
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
