package crdt

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"testing"
)

const admitNow = 1_800_000_000_000 // the receivers' physical time in tests

// outsider is someone who learned the gathering id (GossipSub announces it)
// and holds an ed25519 key of its own, but no secret and no ticket: the best
// it can do is derive keys from a secret of its own under the real id.
func outsider(w *world) (Keys, Signer) {
	guess := DeriveEpoch(w.keys.Gathering, w.keys.Founder, 0, sha256.Sum256([]byte("a guess")))
	return guess, testSigner("outsider")
}

// resign replaces the author of an envelope by s and signs it again,
// keeping everything else (the tag included).
func resign(raw []byte, s Signer) []byte {
	b := bytes.Clone(raw[:len(raw)-sigSize])
	copy(b[33:65], s.ID[:])
	return append(b, ed25519.Sign(s.Key, b)...)
}

// build encodes an envelope from parts, tag and signature made as given,
// so that tests can make what Seal never would.
func build(version byte, g GatheringID, s Signer, c Clock, epoch uint64, sealed []byte, admission *[32]byte) []byte {
	b := header(g, s.ID, c, epoch)
	b[0] = version
	b = binary.AppendUvarint(b, uint64(len(sealed)))
	b = append(b, sealed...)
	b = appendTag(b, b, admission)
	return append(b, ed25519.Sign(s.Key, b)...)
}

// TestAdmit: what a member seals is admitted by its keys and by a hub
// ticket; nothing an outsider can make is, before any signature check.
func TestAdmit(t *testing.T) {
	w := sampleOps(t)
	member := w.envs[len(w.envs)-1]
	guess, out := outsider(w)
	junk, _, err := guess.Seal(out, Clock{Wall: admitNow}, &CommentBody{Proposal: w.ref("p"), Text: "junk"})
	if err != nil {
		t.Fatal(err)
	}
	// The outsider copies a member's tag onto an envelope of its own.
	copied := bytes.Clone(junk.Bytes()[:len(junk.Bytes())-tagSize-sigSize])
	copied = append(copied, member.Bytes()[len(member.Bytes())-tagSize-sigSize:len(member.Bytes())-sigSize]...)
	copied = append(copied, ed25519.Sign(out.Key, copied)...)
	other := Credentials{Secret: [32]byte{9}, Founder: w.founder.ID}.Derive()
	foreign, _, err := other.Seal(w.founder, Clock{Wall: admitNow}, &IdentityBody{Name: "x"})
	if err != nil {
		t.Fatal(err)
	}
	epoch1 := DeriveEpoch(w.keys.Gathering, w.keys.Founder, 1, sha256.Sum256([]byte("next secret")))
	next, _, err := epoch1.Seal(w.founder, Clock{Wall: admitNow}, &IdentityBody{Name: "x"})
	if err != nil {
		t.Fatal(err)
	}
	future, _, err := w.keys.Seal(w.founder, Clock{Wall: admitNow + MaxDriftMillis + 1}, &IdentityBody{Name: "x"})
	if err != nil {
		t.Fatal(err)
	}
	sealed := member.Sealed
	cases := []struct {
		name string
		raw  []byte
		want error // nil: admitted
	}{
		{"member", member.Bytes(), nil},
		{"member, at the drift limit", w.envs[0].Bytes(), nil},
		{"outsider with guessed keys", junk.Bytes(), ErrAdmission},
		{"outsider re-signs a member's operation as itself", resign(member.Bytes(), out), ErrAdmission},
		{"outsider copies a member's tag", copied, ErrAdmission},
		{"outsider tags with the gathering id as key", build(EnvelopeVersion, w.keys.Gathering, out, Clock{Wall: admitNow}, 0, sealed, (*[32]byte)(&w.keys.Gathering)), ErrAdmission},
		{"outsider tags with a zero key", build(EnvelopeVersion, w.keys.Gathering, out, Clock{Wall: admitNow}, 0, sealed, &[32]byte{}), ErrAdmission},
		{"outsider claims an epoch nobody has", build(EnvelopeVersion, w.keys.Gathering, out, Clock{Wall: admitNow}, 7, sealed, &[32]byte{}), ErrEpoch},
		{"member of the next epoch", next.Bytes(), ErrEpoch},
		{"another gathering", foreign.Bytes(), ErrForeign},
		{"clock in the future", future.Bytes(), ErrFuture},
		{"version 1", build(1, w.keys.Gathering, w.founder, Clock{Wall: admitNow}, 0, sealed, &w.keys.admission), ErrMalformed},
		{"garbage", []byte("not an operation at all"), ErrMalformed},
	}
	doors := []struct {
		name string
		a    Admitter
	}{
		{"member keys", w.keys},
		{"hub ticket", w.keys.Ticket()},
		{"hub ticket, parsed from text", mustParseTicket(t, w.keys.Ticket().String())},
	}
	for _, tc := range cases {
		for _, d := range doors {
			t.Run(tc.name+"/"+d.name, func(t *testing.T) {
				e, err := Admit(d.a, tc.raw, admitNow)
				if tc.want == nil {
					if err != nil {
						t.Fatalf("Admit: %v", err)
					}
					if !bytes.Equal(e.Bytes(), tc.raw) {
						t.Fatal("admitted envelope does not keep its bytes")
					}
					return
				}
				if !errors.Is(err, tc.want) || e != nil {
					t.Fatalf("Admit: %v, %v; want %v", e, err, tc.want)
				}
			})
		}
	}
	// The outsider's own envelopes are well signed: only the tag keeps them
	// out, and it is checked first.
	for _, raw := range [][]byte{junk.Bytes(), resign(member.Bytes(), out), copied} {
		if _, err := AcceptSealed(w.keys.Gathering, raw); err != nil {
			t.Fatalf("the outsider's envelope should be well signed: %v", err)
		}
		if _, _, err := w.keys.Accept(raw); !errors.Is(err, ErrAdmission) {
			t.Fatalf("Keys.Accept: %v, want ErrAdmission", err)
		}
	}
}

// TestAdmitEveryKind: a hub ticket admits every kind of operation members
// make.
func TestAdmitEveryKind(t *testing.T) {
	w := sampleOps(t)
	ticket := w.keys.Ticket()
	for _, e := range w.envs {
		if _, err := Admit(ticket, e.Bytes(), admitNow); err != nil {
			t.Fatalf("%s: %v", e.ID(), err)
		}
	}
}

// TestEpochKeys: rotation-ready. Each epoch has its own keys, each key its
// own label; the gathering id stays the one of the first secret.
func TestEpochKeys(t *testing.T) {
	creds := Credentials{Secret: [32]byte{1, 2, 3}, Founder: who("founder")}
	k0 := creds.Derive()
	next := [32]byte{4, 5, 6}
	cases := []struct {
		name string
		k    Keys
	}{
		{"epoch 0 again", DeriveEpoch(k0.Gathering, k0.Founder, 0, creds.Secret)},
		{"epoch 1, next secret", DeriveEpoch(k0.Gathering, k0.Founder, 1, next)},
		{"epoch 1, same secret", DeriveEpoch(k0.Gathering, k0.Founder, 1, creds.Secret)},
		{"epoch 2", DeriveEpoch(k0.Gathering, k0.Founder, 2, next)},
	}
	seen := map[[32]byte]string{}
	for _, kv := range []struct {
		name string
		k    [32]byte
	}{{"seal", k0.seal}, {"nonce", k0.nonce}, {"admission", k0.admission}, {"gathering", k0.Gathering}} {
		if prev, dup := seen[kv.k]; dup {
			t.Fatalf("the %s key of epoch 0 equals its %s key", kv.name, prev)
		}
		seen[kv.k] = kv.name
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k := tc.k
			if k.Gathering != k0.Gathering || k.Founder != k0.Founder {
				t.Fatal("the gathering changed with the epoch")
			}
			same := k.Epoch == 0
			if (k.seal == k0.seal) != same || (k.nonce == k0.nonce) != same || (k.admission == k0.admission) != same {
				t.Fatalf("epoch %d keys: equal to epoch 0's = %v, %v, %v; want %v",
					k.Epoch, k.seal == k0.seal, k.nonce == k0.nonce, k.admission == k0.admission, same)
			}
			env, _, err := k.Seal(testSigner("alice"), Clock{Wall: admitNow}, &IdentityBody{Name: "Alice"})
			if err != nil {
				t.Fatal(err)
			}
			if env.Epoch != k.Epoch {
				t.Fatalf("envelope of epoch %d, want %d", env.Epoch, k.Epoch)
			}
			if _, _, err := k.Accept(env.Bytes()); err != nil {
				t.Fatalf("its own epoch does not accept it: %v", err)
			}
			if _, err := Admit(k.Ticket(), env.Bytes(), admitNow); err != nil {
				t.Fatalf("its own epoch's ticket does not admit it: %v", err)
			}
			if same {
				return
			}
			if _, err := Admit(k0, env.Bytes(), admitNow); !errors.Is(err, ErrEpoch) {
				t.Fatalf("epoch 0 admits an operation of epoch %d: %v", k.Epoch, err)
			}
			if _, err := k0.Open(env); !errors.Is(err, ErrEpoch) {
				t.Fatalf("epoch 0 opens an operation of epoch %d: %v", k.Epoch, err)
			}
		})
	}
}

// TestEnvelopeVector pins the version 2 encoding: a change to the envelope,
// the key derivation, the padding or the seal changes these bytes. The
// gathering id (unchanged since version 1), the admission tag and the
// signature of this envelope were checked with an independent HKDF, HMAC and
// ed25519 (Python's hmac and cryptography).
func TestEnvelopeVector(t *testing.T) {
	creds := Credentials{Secret: sha256.Sum256([]byte("vector secret")), Founder: who("founder")}
	k := DeriveEpoch(creds.Derive().Gathering, creds.Founder, 3, creds.Secret)
	env, _, err := k.Seal(testSigner("alice"), Clock{Wall: 1_700_000_000_000, Logical: 2}, &IdentityBody{Name: "Alice"})
	if err != nil {
		t.Fatal(err)
	}
	const (
		wantGathering = "39d01c4b3150b96c7ea17706c4e1d164efc772f02df150d3c6733d4e6cc0c8cd"
		wantID        = "73c841b39d721ef6d3a6f8ac131eef2498a3782dca0b6eed79f9f4707500f35a"
		wantSize      = headerSize + 1 + 2 + minSealed + tagSize + sigSize
	)
	if got := k.Gathering.String(); got != wantGathering {
		t.Errorf("gathering id %s, want %s", got, wantGathering)
	}
	if got := env.ID().String(); got != wantID {
		t.Errorf("envelope id %s, want %s", got, wantID)
	}
	if len(env.Bytes()) != wantSize {
		t.Errorf("envelope of %d bytes, want %d", len(env.Bytes()), wantSize)
	}
}

func mustParseTicket(t *testing.T, s string) Ticket {
	t.Helper()
	tk, err := ParseTicket(s)
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

// BenchmarkAdmit is the door's cost per operation, beside the signature
// check it saves for what it refuses.
func BenchmarkAdmit(b *testing.B) {
	w := sampleOps(b)
	raw := w.envs[len(w.envs)-1].Bytes()
	ticket := w.keys.Ticket()
	b.Run("admit", func(b *testing.B) {
		for b.Loop() {
			if _, err := Admit(ticket, raw, admitNow); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("verify", func(b *testing.B) {
		e, err := DecodeEnvelope(raw)
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if err := e.Verify(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestTaggerIsHMAC: the admission tag's HMAC is crypto/hmac's, for keys
// and messages of every shape, with one tagger reused across them.
func TestTaggerIsHMAC(t *testing.T) {
	rnd := rand.New(rand.NewPCG(7, 7))
	tg := newTagger()
	for _, n := range []int{0, 1, 55, 56, 63, 64, 65, 127, 128, 1000, 70000} {
		var key [32]byte
		for i := range key {
			key[i] = byte(rnd.Uint32())
		}
		msg := make([]byte, n)
		for i := range msg {
			msg[i] = byte(rnd.Uint32())
		}
		want := hmac.New(sha256.New, key[:])
		want.Write(msg)
		if got := tg.mac(&key, msg); !bytes.Equal(got, want.Sum(nil)) {
			t.Fatalf("%d bytes: tagger %x, crypto/hmac %x", n, got, want.Sum(nil))
		}
	}
}
