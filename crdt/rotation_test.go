package crdt

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"testing"
)

func TestRotationShares(t *testing.T) {
	fac := testSigner("facilitator")
	cur := testKeys(fac.ID)
	secret := sha256.Sum256([]byte("next secret"))
	outsider := testSigner("outsider")
	for _, n := range []int{1, MaxShares, MaxShares + 1, 600} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			members := []Signer{fac}
			for i := 1; i < n; i++ {
				members = append(members, testSigner(fmt.Sprint("m", i)))
			}
			ids := make([]IdentityID, len(members))
			for i, m := range members {
				ids[i] = m.ID
			}
			bodies, err := cur.Rotate(fac, secret, append(ids, ids[0]))
			if err != nil {
				t.Fatal(err)
			}
			if want := (n + MaxShares - 1) / MaxShares; len(bodies) != want {
				t.Fatalf("%d bodies, want %d", len(bodies), want)
			}
			want := DeriveEpoch(cur.Gathering, cur.Founder, 1, secret)
			for _, b := range bodies {
				// Every part seals under the envelope limit and round-trips.
				env, op, err := cur.Seal(fac, Clock{Wall: 1}, b)
				if err != nil {
					t.Fatal(err)
				}
				if len(env.Bytes()) > MaxEnvelopeSize {
					t.Fatalf("envelope of %d bytes", len(env.Bytes()))
				}
				got, err := cur.Open(env)
				if err != nil || got.ID != op.ID {
					t.Fatalf("open: %v", err)
				}
			}
			for _, m := range members {
				found := 0
				for _, b := range bodies {
					_, k, ok, err := b.OpenShare(m, fac.ID, cur)
					if err != nil {
						t.Fatal(err)
					}
					if ok {
						found++
						if k != want {
							t.Fatal("share opens to other keys")
						}
					}
				}
				if found != 1 {
					t.Fatalf("member has %d shares", found)
				}
			}
			for _, b := range bodies {
				if _, _, ok, _ := b.OpenShare(outsider, fac.ID, cur); ok {
					t.Fatal("outsider has a share")
				}
				nt, err := cur.Ticket().NextTicket(b)
				if err != nil || nt != want.Ticket() {
					t.Fatalf("next ticket: %v", err)
				}
			}
		})
	}
}

func TestRotationRefusesBadShares(t *testing.T) {
	fac, m := testSigner("facilitator"), testSigner("member")
	cur := testKeys(fac.ID)
	bodies, err := cur.Rotate(fac, sha256.Sum256([]byte("s")), []IdentityID{m.ID})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		mutate func(b *RotationBody)
		author IdentityID
		want   error
	}{
		{"flipped box", func(b *RotationBody) { b.Shares[0].Box[0] ^= 1 }, fac.ID, ErrSealed},
		{"other author", func(*RotationBody) {}, m.ID, ErrSealed},
		{"other commit", func(b *RotationBody) { b.Commit[0] ^= 1 }, fac.ID, ErrSealed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := *bodies[0]
			b.Shares = append([]Share(nil), b.Shares...)
			c.mutate(&b)
			if _, _, _, err := b.OpenShare(m, c.author, cur); !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
	if _, err := cur.Rotate(fac, [32]byte{}, nil); !errors.Is(err, ErrInvalid) {
		t.Fatalf("no members: %v", err)
	}
	bad := &RotationBody{Epoch: 0, Shares: []Share{{}}}
	if _, _, err := cur.Seal(fac, Clock{Wall: 1}, bad); !errors.Is(err, ErrInvalid) {
		t.Fatalf("epoch 0: %v", err)
	}
}

func TestRotationCheckNeedsFacilitator(t *testing.T) {
	w := newWorld(t)
	m := testSigner("member")
	bodies, err := w.keys.Rotate(w.founder, sha256.Sum256([]byte("s")), []IdentityID{m.ID})
	if err != nil {
		t.Fatal(err)
	}
	s := NewState(w.founder.ID)
	if err := s.Check(m.ID, bodies[0]); !errors.Is(err, ErrForbidden) {
		t.Fatalf("member rotates: %v", err)
	}
	if err := s.Check(w.founder.ID, bodies[0]); err != nil {
		t.Fatalf("founder rotates: %v", err)
	}
}

// BenchmarkRotation reports the bytes of the rotation operations for a
// gathering's members and the time one member takes to open its share.
func BenchmarkRotation(b *testing.B) {
	fac := testSigner("facilitator")
	cur := testKeys(fac.ID)
	for _, n := range []int{60, 600} {
		ids := []IdentityID{fac.ID}
		var last Signer
		for i := 1; i < n; i++ {
			last = testSigner(fmt.Sprint("m", i))
			ids = append(ids, last.ID)
		}
		bodies, err := cur.Rotate(fac, sha256.Sum256([]byte("s")), ids)
		if err != nil {
			b.Fatal(err)
		}
		size := 0
		var envs []*Envelope
		for _, body := range bodies {
			env, _, err := cur.Seal(fac, Clock{Wall: 1}, body)
			if err != nil {
				b.Fatal(err)
			}
			size += len(env.Bytes())
			envs = append(envs, env)
		}
		b.Run(fmt.Sprintf("members=%d/make", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := cur.Rotate(fac, sha256.Sum256([]byte("s")), ids); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(size), "bytes")
			b.ReportMetric(float64(len(bodies)), "ops")
		})
		// What a member does on receipt: open each envelope and look
		// for its share (the last member's share is in the last part).
		b.Run(fmt.Sprintf("members=%d/apply", n), func(b *testing.B) {
			for b.Loop() {
				for _, env := range envs {
					op, err := cur.Open(env)
					if err != nil {
						b.Fatal(err)
					}
					if _, _, _, err := op.Body.(*RotationBody).OpenShare(last, fac.ID, cur); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(size), "bytes")
		})
	}
}

// rotationBody is a random rotation for the convergence simulation: to a
// random epoch, with a random secret, for most of the people, leaving out
// some (who then count nowhere in the epoch it
// closes, unless facilitators). act seals it under the epoch it leaves,
// or now and then another one (which closes nothing).
func (m *sim) rotationBody() Body {
	var secret [32]byte
	for i := range secret {
		secret[i] = byte(m.r.IntN(256))
	}
	// Every fourth person is never given a new epoch (an old invite's
	// holder), others now and then (unknown to the rotating node).
	var to []IdentityID
	for i, p := range m.people {
		if i%4 != 3 && m.r.IntN(6) != 0 {
			to = append(to, p)
		}
	}
	if len(to) == 0 {
		to = m.people[:1]
	}
	k := m.epochKeys[m.r.IntN(len(m.epochKeys)-1)]
	bodies, err := k.Rotate(testSigner("founder"), secret, to)
	if err != nil {
		m.t.Fatal(err)
	}
	return bodies[0]
}
