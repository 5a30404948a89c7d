package crdt

import (
	"bytes"
	"errors"
	"testing"
)

// TestHandoverChains: a hub holding epoch 0's ticket opens the hand-overs
// of rotations to 1 and then 2, given in any order, and gets exactly the
// tickets members derive; a hand-over that does not chain from a ticket it
// holds, or was tampered with, gives nothing.
func TestHandoverChains(t *testing.T) {
	f := testSigner("founder")
	k0 := testKeys(f.ID)
	b1, err := k0.Rotate(f, [32]byte{1}, []IdentityID{f.ID})
	if err != nil {
		t.Fatal(err)
	}
	k1 := DeriveEpoch(k0.Gathering, k0.Founder, 1, [32]byte{1})
	b2, err := k1.Rotate(f, [32]byte{2}, []IdentityID{f.ID})
	if err != nil {
		t.Fatal(err)
	}
	k2 := DeriveEpoch(k0.Gathering, k0.Founder, 2, [32]byte{2})
	var hs []Handover
	for _, b := range []*RotationBody{b2[0], b1[0]} {
		enc := b.Handover().Encode(nil)
		if len(enc) != HandoverSize {
			t.Fatalf("%d bytes", len(enc))
		}
		h, err := DecodeHandover(enc)
		if err != nil || h != b.Handover() {
			t.Fatalf("decode: %+v, %v", h, err)
		}
		hs = append(hs, h)
	}
	tampered := b1[0].Handover()
	tampered.Next[3] ^= 1
	other := testKeys(testSigner("elsewhere").ID)
	ob, _ := other.Rotate(f, [32]byte{3}, []IdentityID{f.ID})

	ts, err := NewTickets(k0.Ticket())
	if err != nil {
		t.Fatal(err)
	}
	if got := ts.Take([]Handover{tampered, ob[0].Handover()}); len(got) != 0 {
		t.Fatalf("took %v", got)
	}
	got := ts.Take(hs)
	if len(got) != 2 || got[0] != k1.Ticket() || got[1] != k2.Ticket() || ts.Newest() != 2 {
		t.Fatalf("took %+v, newest %d", got, ts.Newest())
	}
	if again := ts.Take(hs); len(again) != 0 {
		t.Fatal("took the same tickets twice")
	}
	// It admits operations of every epoch it holds.
	for _, k := range []Keys{k0, k1, k2} {
		env, _, err := k.Seal(f, Clock{Wall: 1}, &IdentityBody{Name: "x"})
		if err != nil {
			t.Fatal(err)
		}
		if err := CheckAdmission(ts, env); err != nil {
			t.Errorf("epoch %d: %v", k.Epoch, err)
		}
	}
	if _, err := NewTickets(k0.Ticket(), other.Ticket()); !errors.Is(err, ErrForeign) {
		t.Errorf("tickets of two gatherings: %v", err)
	}
}

// FuzzDecodeHandover: whatever decodes encodes back to the same bytes.
func FuzzDecodeHandover(f *testing.F) {
	s := testSigner("founder")
	b, _ := testKeys(s.ID).Rotate(s, [32]byte{1}, []IdentityID{s.ID})
	f.Add(b[0].Handover().Encode(nil))
	f.Add(make([]byte, HandoverSize))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, raw []byte) {
		h, err := DecodeHandover(raw)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error not wrapping ErrMalformed: %v", err)
			}
			return
		}
		if !bytes.Equal(h.Encode(nil), raw) {
			t.Fatal("does not encode back")
		}
	})
}
