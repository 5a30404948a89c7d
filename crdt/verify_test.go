package crdt

import (
	"crypto/ed25519"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"filippo.io/edwards25519"
	"github.com/hdevalence/ed25519consensus"
)

// The eight points of small order, canonically encoded, and non-canonical
// encodings of points (from "Taming the many EdDSAs", Chalkias et al.).
var smallOrder = []string{
	"0100000000000000000000000000000000000000000000000000000000000000", // identity
	"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // order 2
	"0000000000000000000000000000000000000000000000000000000000000000", // order 4
	"0000000000000000000000000000000000000000000000000000000000000080", // order 4
	"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a", // order 8
	"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa", // order 8
	"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05", // order 8
	"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85", // order 8
}

var nonCanonical = []string{
	"0100000000000000000000000000000000000000000000000000000000000080", // identity, sign bit set on x = 0
	"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // y = p + 1
	"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", // y = p, sign bit set
	"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", // y = -1, sign bit set on x = 0
}

func unhex(tb testing.TB, s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// forge assembles an envelope with any author key and signature bytes.
func forge(tb testing.TB, author, sig []byte) *Envelope {
	var a IdentityID
	copy(a[:], author)
	b := header(GatheringID{1}, a, Clock{Wall: 1}, 0)
	b = binary.AppendUvarint(b, minSealed)
	b = append(b, make([]byte, minSealed)...)
	b = appendTag(b, b, &[32]byte{})
	b = append(b, sig...)
	e, err := DecodeEnvelope(b)
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

// resignSig replaces an envelope's signature.
func resignSig(tb testing.TB, e *Envelope, sig []byte) *Envelope {
	msg, _ := e.signed()
	b := append(append([]byte(nil), msg...), sig...)
	out, err := DecodeEnvelope(b)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

func TestCheckPoint(t *testing.T) {
	good := testSigner("alice").ID
	type test struct {
		name string
		enc  []byte
		want error
	}
	tests := []test{
		{"honest key", good[:], nil},
		{"base point", edwards25519.NewGeneratorPoint().Bytes(), nil},
		{"not on the curve", unhex(t, "0200000000000000000000000000000000000000000000000000000000000000"), errNotPoint},
	}
	for _, set := range []struct {
		name string
		encs []string
		want error
	}{{"small order", smallOrder, errSmallOrder}, {"non-canonical", nonCanonical, errNonCanonical}} {
		for i, s := range set.encs {
			tests = append(tests, test{fmt.Sprintf("%s %d", set.name, i), unhex(t, s), set.want})
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := checkPoint(tt.enc); got != tt.want {
				t.Fatalf("checkPoint(%x) = %v, want %v", tt.enc, got, tt.want)
			}
		})
	}
}

// TestSmallOrderTable checks the table itself independently of checkPoint:
// eight distinct points, each of which doubled three times is the identity.
func TestSmallOrderTable(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range smallOrder {
		p, err := new(edwards25519.Point).SetBytes(unhex(t, s))
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		q := new(edwards25519.Point).Set(p)
		for range 3 {
			q.Add(q, q)
		}
		if q.Equal(edwards25519.NewIdentityPoint()) != 1 {
			t.Fatalf("%s is not of small order", s)
		}
		seen[string(p.Bytes())] = true
	}
	if len(seen) != 8 {
		t.Fatalf("%d distinct small-order points, want 8", len(seen))
	}
}

// TestForgedSmallOrder is issue 9 item 7: author 01 00…00, R the identity
// and S = 0 satisfy the verification equation for any message.
func TestForgedSmallOrder(t *testing.T) {
	identity := unhex(t, smallOrder[0])
	sig := append(append([]byte(nil), identity...), make([]byte, 32)...)
	e := forge(t, identity, sig)
	msg, s := e.signed()
	if !ed25519consensus.Verify(identity, msg, s) {
		t.Fatal("ZIP-215 alone refuses the forgery: the test no longer shows why checkPoint exists")
	}
	if err := e.Verify(); !errors.Is(err, ErrSignature) {
		t.Fatalf("Verify = %v, want ErrSignature", err)
	}
	if errs := VerifyBatch([]*Envelope{e}); !errors.Is(errs[0], ErrSignature) {
		t.Fatalf("VerifyBatch = %v, want ErrSignature", errs[0])
	}
	if _, err := AcceptSealed(GatheringID{1}, e.Bytes()); !errors.Is(err, ErrSignature) {
		t.Fatalf("AcceptSealed = %v, want ErrSignature", err)
	}
}

// badKinds turn a good envelope into one whose signature must be refused.
var badKinds = []struct {
	name string
	make func(tb testing.TB, good *Envelope, r *rand.Rand) *Envelope
}{
	{"flipped bit", func(tb testing.TB, g *Envelope, r *rand.Rand) *Envelope {
		_, sig := g.signed()
		s := append([]byte(nil), sig...)
		s[r.IntN(len(s))] ^= 1 << r.IntN(8)
		return resignSig(tb, g, s)
	}},
	{"S + ℓ", func(tb testing.TB, g *Envelope, _ *rand.Rand) *Envelope {
		_, sig := g.signed()
		s := append([]byte(nil), sig...)
		var carry uint16
		l := unhex(tb, "edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010")
		for i := range 32 {
			v := uint16(s[32+i]) + uint16(l[i]) + carry
			s[32+i], carry = byte(v), v>>8
		}
		return resignSig(tb, g, s)
	}},
	{"small-order author", func(tb testing.TB, _ *Envelope, r *rand.Rand) *Envelope {
		a := unhex(tb, smallOrder[r.IntN(len(smallOrder))])
		return forge(tb, a, append(unhex(tb, smallOrder[0]), make([]byte, 32)...))
	}},
	{"small-order R", func(tb testing.TB, g *Envelope, r *rand.Rand) *Envelope {
		_, sig := g.signed()
		s := append(unhex(tb, smallOrder[r.IntN(len(smallOrder))]), sig[32:]...)
		return resignSig(tb, g, s)
	}},
	{"non-canonical author", func(tb testing.TB, _ *Envelope, r *rand.Rand) *Envelope {
		a := unhex(tb, nonCanonical[r.IntN(len(nonCanonical))])
		return forge(tb, a, append(unhex(tb, smallOrder[0]), make([]byte, 32)...))
	}},
}

func goodEnvelope(tb testing.TB, i int) *Envelope {
	sg := testSigner(fmt.Sprintf("v%d", i%7))
	k := testKeys(sg.ID)
	e, _, err := k.Seal(sg, Clock{Wall: int64(i + 1)}, &CommentBody{Proposal: OpID{1}, Text: fmt.Sprint("comment ", i)})
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

// TestVerifyBatchAgrees: on random mixes of good and bad signatures the
// batch names exactly the envelopes that Verify refuses.
func TestVerifyBatchAgrees(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	for round := range 200 {
		n := r.IntN(40)
		envs := make([]*Envelope, n)
		wantBad := make([]bool, n)
		for i := range envs {
			envs[i] = goodEnvelope(t, round*40+i)
			if r.IntN(4) == 0 {
				k := badKinds[r.IntN(len(badKinds))]
				envs[i] = k.make(t, envs[i], r)
				wantBad[i] = true
			}
		}
		errs := VerifyBatch(envs)
		if len(errs) != n {
			t.Fatalf("round %d: %d results for %d envelopes", round, len(errs), n)
		}
		for i, e := range envs {
			single := e.Verify()
			if (single == nil) != (errs[i] == nil) {
				t.Fatalf("round %d, envelope %d: Verify = %v, VerifyBatch = %v", round, i, single, errs[i])
			}
			if (single != nil) != wantBad[i] {
				t.Fatalf("round %d, envelope %d: Verify = %v, bad = %v", round, i, single, wantBad[i])
			}
			if single != nil && !errors.Is(errs[i], ErrSignature) {
				t.Fatalf("round %d, envelope %d: %v is not ErrSignature", round, i, errs[i])
			}
		}
	}
}

func TestVerifyHonest(t *testing.T) {
	sg := testSigner("honest")
	msg := []byte("x")
	sig := ed25519.Sign(sg.Key, msg)
	if !ed25519consensus.Verify(ed25519.PublicKey(sg.ID[:]), msg, sig) {
		t.Fatal("ZIP-215 refuses an honest signature")
	}
}

func BenchmarkVerify(b *testing.B) {
	for _, n := range []int{1, 64, 256} {
		envs := make([]*Envelope, n)
		for i := range envs {
			envs[i] = goodEnvelope(b, i)
		}
		// The standard library's check, which Verify used before, for
		// comparison.
		b.Run(fmt.Sprintf("stdlib/%d", n), func(b *testing.B) {
			for b.Loop() {
				for _, e := range envs {
					msg, sig := e.signed()
					if !ed25519.Verify(e.Author[:], msg, sig) {
						b.Fatal("bad")
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/op-verified")
		})
		b.Run(fmt.Sprintf("single/%d", n), func(b *testing.B) {
			for b.Loop() {
				for _, e := range envs {
					if e.Verify() != nil {
						b.Fatal("bad")
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/op-verified")
		})
		b.Run(fmt.Sprintf("batch/%d", n), func(b *testing.B) {
			for b.Loop() {
				for _, err := range VerifyBatch(envs) {
					if err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/op-verified")
		})
	}
}
