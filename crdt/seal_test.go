package crdt

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestBucket(t *testing.T) {
	cases := []struct{ n, want int }{
		{1, 128}, {128, 128}, {129, 256}, {256, 256}, {257, 512}, {1000, 1024},
		{2049, 4096}, {4096, 4096}, {4097, 8192}, {8192, 8192}, {8193, 12288}, {28672, 28672},
	}
	for _, tc := range cases {
		if got := bucket(tc.n); got != tc.want {
			t.Errorf("bucket(%d) = %d, want %d", tc.n, got, tc.want)
		}
	}
}

func TestUnpad(t *testing.T) {
	payload := []byte{payloadVersion, 1, 2, 3}
	good := pad(payload)
	cases := []struct {
		name string
		p    []byte
		ok   bool
	}{
		{"canonical", good, true},
		{"payload ending in zeros", pad([]byte{payloadVersion, 0, 0}), true},
		{"payload ending in the marker", pad([]byte{payloadVersion, padMarker}), true},
		{"empty", nil, false},
		{"all zeros", make([]byte, 128), false},
		{"no marker", append(bytes.Clone(payload), make([]byte, 124)...), false},
		{"marker not 0x80", func() []byte { b := bytes.Clone(good); b[len(payload)] = 0x01; return b }(), false},
		{"a byte after the marker", func() []byte { b := bytes.Clone(good); b[len(b)-1] = 1; return b }(), false},
		{"one zero short", good[:len(good)-1], false},
		{"one zero too many", append(bytes.Clone(good), 0), false},
		{"next bucket", append(bytes.Clone(good), make([]byte, 128)...), false},
		{"unpadded", payload, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := unpad(tc.p)
			if !tc.ok {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("unpad: %x, %v; want ErrMalformed", got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(pad(got), tc.p) {
				t.Fatal("unpad does not undo pad")
			}
		})
	}
}

// TestSmallKindsSealAlike: a hub sees sizes, not kinds. Every kind of fixed
// size, and short texts, seal to envelopes of one size.
func TestSmallKindsSealAlike(t *testing.T) {
	w := sampleOps(t)
	p, g, r := w.ref("p"), w.ref("ga"), w.ref("r")
	bodies := []Body{
		&EndorseBody{Proposal: p, Group: g, Revision: r, Endorse: true},
		&EndorseBody{Proposal: p, Group: g, Revision: r, Endorse: false},
		&HideBody{Target: p, Hidden: true},
		&ParticipationBody{Event: w.ref("e"), Status: Going},
		&ParticipationBody{Event: w.ref("e"), Status: NotGoing},
		&ScribeBody{Group: g, Identity: who("bob")},
		&FacilitatorBody{Identity: who("bob")},
		&RevisionBody{Proposal: p, Group: g, Text: "edit", Parents: []OpID{r}},
		&CommentBody{Proposal: p, Text: "+1"},
		&IdentityBody{Name: "Alice"},
		&GroupBody{Name: "Table 4"},
	}
	size := 0
	for _, b := range bodies {
		env, _, err := w.keys.Seal(testSigner("alice"), Clock{Wall: admitNow}, b)
		if err != nil {
			t.Fatalf("%T: %v", b, err)
		}
		if size == 0 {
			size = len(env.Bytes())
		}
		if len(env.Bytes()) != size {
			t.Errorf("%T seals to %d bytes, the others to %d", b, len(env.Bytes()), size)
		}
	}
	// The largest text there is still fits an envelope.
	big := &EventBody{EventFields{Title: strings.Repeat("t", MaxName), Description: strings.Repeat("d", MaxDescription),
		Start: "2026-05-01T10:00:00Z", End: "2026-05-01T11:00:00Z", Timezone: "UTC", Status: Tentative}}
	if _, _, err := w.keys.Seal(testSigner("alice"), Clock{Wall: admitNow}, big); err != nil {
		t.Fatalf("the largest event does not seal: %v", err)
	}
}

// TestOpenRefusesBadPadding: a member (who holds the keys) cannot make an
// operation whose padding differs from the canonical one.
func TestOpenRefusesBadPadding(t *testing.T) {
	w := sampleOps(t)
	alice := testSigner("alice")
	// A payload of one whole bucket: unpadded, it is still long enough to
	// be sealed.
	name := strings.Repeat("a", minBucket-3)
	payload := appendPayload(nil, &IdentityBody{Name: name})
	if len(payload) != minBucket {
		t.Fatalf("payload of %d bytes", len(payload))
	}
	cases := []struct {
		name  string
		plain []byte
		ok    bool
	}{
		{"canonical", pad(payload), true},
		{"unpadded", payload, false},
		{"a bucket too large", append(pad(payload), make([]byte, 128)...), false},
		{"garbage in the padding", func() []byte { b := pad(payload); b[len(b)-1] = 7; return b }(), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env, err := w.keys.sealPadded(alice, Clock{Wall: admitNow}, tc.plain)
			if err != nil {
				t.Fatal(err)
			}
			_, op, err := w.keys.Accept(env.Bytes())
			if tc.ok {
				if err != nil || op.Body.(*IdentityBody).Name != name {
					t.Fatalf("Accept: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("Accept: %v, want ErrMalformed", err)
			}
		})
	}
}

// TestDecodeEnvelopeStrict: one encoding per envelope; anything else is
// refused before any key is used.
func TestDecodeEnvelopeStrict(t *testing.T) {
	w := sampleOps(t)
	s := testSigner("alice")
	sealed := w.envs[0].Sealed
	g, c, adm := w.keys.Gathering, Clock{Wall: admitNow}, &w.keys.admission
	good := build(EnvelopeVersion, g, s, c, 0, sealed, adm)
	// splice replaces the bytes from off to off+n of good by with.
	splice := func(off, n int, with ...byte) []byte {
		return append(append(bytes.Clone(good[:off]), with...), good[off+n:]...)
	}
	cases := []struct {
		name string
		raw  []byte
		want error
	}{
		{"canonical", good, nil},
		{"large epoch", build(EnvelopeVersion, g, s, c, 1<<40, sealed, adm), nil},
		{"version 1", build(1, g, s, c, 0, sealed, adm), ErrMalformed},
		{"version 3", build(3, g, s, c, 0, sealed, adm), ErrMalformed},
		{"epoch not minimal", splice(headerSize, 1, 0x80, 0x00), ErrMalformed},
		{"length not minimal", splice(headerSize+1, 2, good[headerSize+1]|0x80, good[headerSize+2], 0x00), ErrMalformed},
		{"no tag", splice(len(good)-sigSize-tagSize, tagSize), ErrMalformed},
		{"a byte too many", append(bytes.Clone(good), 0), ErrMalformed},
		{"a byte short", good[:len(good)-1], ErrMalformed},
		{"sealed payload too short", build(EnvelopeVersion, g, s, c, 0, sealed[:minSealed-1], adm), ErrMalformed},
		{"negative clock", build(EnvelopeVersion, g, s, Clock{Wall: -1}, 0, sealed, adm), ErrMalformed},
		{"too large", make([]byte, MaxEnvelopeSize+1), ErrTooLarge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e, err := DecodeEnvelope(tc.raw)
			if tc.want != nil {
				if !errors.Is(err, tc.want) {
					t.Fatalf("DecodeEnvelope: %v, want %v", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := CheckAdmission(w.keys.Ticket(), e); err != nil && !errors.Is(err, ErrEpoch) {
				t.Fatalf("CheckAdmission: %v", err)
			}
			if err := e.Verify(); err != nil {
				t.Fatalf("Verify: %v", err)
			}
		})
	}
}

// TestOpenReadsTheHeaderItBinds: the seal binds the envelope's fields,
// read from its own encoding; an envelope whose fields were changed after
// it was decoded does not open under the encoding it came with.
func TestOpenReadsTheHeaderItBinds(t *testing.T) {
	s := testSigner("alice")
	k := testKeys(s.ID)
	env, _, err := k.Seal(s, Clock{Wall: 100, Logical: 2}, &CommentBody{Proposal: OpID{1}, Text: "hello"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		change func(e *Envelope)
	}{
		{"wall", func(e *Envelope) { e.Clock.Wall++ }},
		{"logical", func(e *Envelope) { e.Clock.Logical++ }},
		{"author", func(e *Envelope) { e.Author[0] ^= 1 }},
	} {
		e, err := DecodeEnvelope(env.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := k.Open(e); err != nil {
			t.Fatalf("%s: unchanged: %v", c.name, err)
		}
		c.change(e)
		if _, err := k.Open(e); !errors.Is(err, ErrSealed) {
			t.Errorf("%s changed: err = %v, want sealed", c.name, err)
		}
	}
}

// TestOpenIntoReusesItsBuffer: operations opened one after another into
// one buffer hold nothing of it, and a failed open leaves the buffer to
// the next.
func TestOpenIntoReusesItsBuffer(t *testing.T) {
	s := testSigner("alice")
	k := testKeys(s.ID)
	ring := NewKeyring(k)
	var envs []*Envelope
	for i, text := range []string{"first text", "second, longer text", "third"} {
		env, _, err := k.Seal(s, Clock{Wall: int64(10 + i)}, &CommentBody{Proposal: OpID{1}, Text: text})
		if err != nil {
			t.Fatal(err)
		}
		envs = append(envs, env)
	}
	var buf []byte
	var ops []Op
	for _, env := range envs {
		var e Envelope
		if err := DecodeEnvelopeInto(&e, env.Bytes()); err != nil {
			t.Fatal(err)
		}
		op, next, err := ring.OpenInto(&e, buf)
		if err != nil {
			t.Fatal(err)
		}
		buf = next
		ops = append(ops, op)
	}
	if cap(buf) == 0 {
		t.Error("no buffer handed back to reuse")
	}
	for i, want := range []string{"first text", "second, longer text", "third"} {
		if got := ops[i].Body.(*CommentBody).Text; got != want {
			t.Errorf("operation %d reads %q after the later opens, want %q", i, got, want)
		}
	}
	// Into an envelope holding another, a bad encoding leaves it empty.
	var e Envelope
	if err := DecodeEnvelopeInto(&e, envs[1].Bytes()); err != nil {
		t.Fatal(err)
	}
	bad := slices.Clone(envs[0].Bytes())
	bad = bad[:len(bad)-1] // the payload's length no longer matches
	if err := DecodeEnvelopeInto(&e, bad); err == nil || e.ID() != (OpID{}) || e.Author != (IdentityID{}) || e.Sealed != nil {
		t.Errorf("a bad envelope: err %v, left %+v; want an error and nothing of either", err, e)
	}
}
