package crdt

import (
	"errors"
	"math/rand/v2"
	"testing"

	"filippo.io/edwards25519"
)

// TestDecodePointAgrees: the batch's point screen (no re-encoding) refuses
// exactly what checkPoint refuses, on the edge-case vectors and on random
// encodings near the edges (y close to p, small y, sign bits).
func TestDecodePointAgrees(t *testing.T) {
	var encs [][]byte
	for _, s := range append(append([]string{}, smallOrder...), nonCanonical...) {
		encs = append(encs, unhex(t, s))
	}
	good := testSigner("alice").ID
	encs = append(encs, good[:], edwards25519.NewGeneratorPoint().Bytes())
	r := rand.New(rand.NewPCG(1, 2))
	for range 4000 {
		b := make([]byte, 32)
		switch r.IntN(3) {
		case 0: // y near p
			for i := range b {
				b[i] = 0xff
			}
			b[0] = 0xe0 + byte(r.IntN(32))
			b[31] = 0x7f | byte(r.IntN(2))<<7
		case 1: // small y
			b[0] = byte(r.IntN(256))
			b[31] = byte(r.IntN(2)) << 7
		default:
			for i := range b {
				b[i] = byte(r.Uint32())
			}
		}
		encs = append(encs, b)
	}
	for _, b := range encs {
		want := checkPoint(b)
		got := decodePoint(new(edwards25519.Point), b)
		if (want == nil) != (got == nil) {
			t.Fatalf("%x: checkPoint = %v, decodePoint = %v", b, want, got)
		}
	}
}

func FuzzDecodePoint(f *testing.F) {
	for _, s := range append(append([]string{}, smallOrder...), nonCanonical...) {
		f.Add(unhex(f, s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) != 32 {
			if decodePoint(new(edwards25519.Point), b) == nil {
				t.Fatalf("%x: accepted a %d-byte encoding", b, len(b))
			}
			return
		}
		want := checkPoint(b)
		got := decodePoint(new(edwards25519.Point), b)
		if (want == nil) != (got == nil) {
			t.Fatalf("%x: checkPoint = %v, decodePoint = %v", b, want, got)
		}
	})
}

// TestVerifierAgrees is TestVerifyBatchAgrees with one Verifier kept across
// rounds (its remembered keys), batches of up to 128, and bad kinds that
// reuse a good author's key, so the merged author terms carry a bad
// signature next to good ones of the same author.
func TestVerifierAgrees(t *testing.T) {
	var v Verifier
	r := rand.New(rand.NewPCG(11, 11))
	kinds := append(append([]struct {
		name string
		make func(tb testing.TB, good *Envelope, r *rand.Rand) *Envelope
	}{}, badKinds...), struct {
		name string
		make func(tb testing.TB, good *Envelope, r *rand.Rand) *Envelope
	}{"another's signature", func(tb testing.TB, g *Envelope, r *rand.Rand) *Envelope {
		_, sig := goodEnvelope(tb, 10_000+r.IntN(1000)).signed()
		return resignSig(tb, g, sig)
	}})
	for round := range 120 {
		n := r.IntN(129)
		envs := make([]*Envelope, n)
		wantBad := make([]bool, n)
		for i := range envs {
			envs[i] = goodEnvelope(t, round*130+i)
			if r.IntN(8) == 0 {
				envs[i] = kinds[r.IntN(len(kinds))].make(t, envs[i], r)
				wantBad[i] = true
			}
		}
		errs := v.VerifyBatch(envs)
		for i, e := range envs {
			single := e.Verify()
			if (single == nil) != (errs[i] == nil) || (single != nil) != wantBad[i] {
				t.Fatalf("round %d, envelope %d: Verify = %v, VerifyBatch = %v, bad = %v", round, i, single, errs[i], wantBad[i])
			}
			if single != nil && !errors.Is(errs[i], ErrSignature) {
				t.Fatalf("round %d, envelope %d: %v is not ErrSignature", round, i, errs[i])
			}
		}
	}
}

// TestVerifierBatchShuffled: the same good batch passes in any
// order and with duplicates (the z_i change with the order).
func TestVerifierBatchShuffled(t *testing.T) {
	var v Verifier
	envs := make([]*Envelope, 50)
	for i := range envs {
		envs[i] = goodEnvelope(t, i)
	}
	envs = append(envs, envs[:10]...)
	r := rand.New(rand.NewPCG(3, 3))
	for range 5 {
		r.Shuffle(len(envs), func(i, j int) { envs[i], envs[j] = envs[j], envs[i] })
		for i, err := range v.VerifyBatch(envs) {
			if err != nil {
				t.Fatalf("envelope %d: %v", i, err)
			}
		}
	}
}
