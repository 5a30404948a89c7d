package recon

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestDecodeMessageRejects(t *testing.T) {
	fp := strings.Repeat("\x07", FingerprintSize)
	id := strings.Repeat("\x09", 32)
	cases := []struct {
		name, msg string
	}{
		{"empty", ""},
		{"version", "\x02"},
		{"mode", "\x01\x09\x00"},
		{"short fingerprint", "\x01\x01\x07\x07"},
		{"no bound", "\x01\x01" + fp},
		{"range after infinity", "\x01\x00\x00\x00\x00"},
		{"bound not ascending", "\x01\x00\x05\x00\x00\x00\x01\x00\x00"},
		{"zero bound", "\x01\x00\x01\x00\x00"},
		{"prefix too long", "\x01\x00\x02\x00\x21" + id + "\x09"},
		{"prefix ends in zero", "\x01\x00\x02\x00\x01\x00"},
		{"prefix cut short", "\x01\x00\x02\x00\x05\x09"},
		{"non-minimal varint", "\x01\x00\x82\x00\x00\x00"},
		{"logical overflow", "\x01\x00\x02\x80\x80\x80\x80\x10\x00"},
		{"wall overflow", "\x01\x00\xff\xff\xff\xff\xff\xff\xff\xff\x7f\x00\x00\x00\x03\x00\x00"},
		{"id list count too big", "\x01\x02\x80\x40"},
		{"id list cut short", "\x01\x02\x02\x00\x00" + id + "\x00"},
		{"ids out of order", "\x01\x02\x02\x00\x00" + id + "\x00\x00" + id + "\x00"},
		{"id above its range", "\x01\x02\x01\x05\x00" + id + "\x01\x00\x00"},
		{"bit field too long", "\x01\x03\x00\x81\x04" + strings.Repeat("\x01", 513) + "\x00"},
		{"too big", "\x01" + strings.Repeat("\x00\x00", MaxMessageSize/2)},
	}
	for _, tc := range cases {
		if _, err := decodeMessage([]byte(tc.msg)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: got %v", tc.name, err)
		}
	}
}

func TestMessageRoundTrip(t *testing.T) {
	items := sortedCopy(randItems(newRand(21), 40))
	keys := make([]key, len(items))
	for i, it := range items {
		keys[i] = keyOf(it)
	}
	e := newEncoder()
	var lo Bound
	b1 := boundBetween(&keys[9], &keys[10])
	b2 := boundBetween(&keys[19], &keys[20])
	b3 := boundBetween(&keys[29], &keys[30])
	inf := Infinity()
	e.fingerprint(&lo, &b1, Fingerprint{1, 2, 3})
	e.idList(&b2, &b3, keys[20:30]) // a skip before it
	e.idListDiff(&b3, &inf, keys[30:], []byte{0x81})
	ranges, err := decodeMessage(e.buf)
	if err != nil {
		t.Fatal(err)
	}
	want := []rng{
		{mode: modeFingerprint, fp: Fingerprint{1, 2, 3}, upper: b1},
		{mode: modeSkip, upper: b2},
		{mode: modeIDList, keys: keys[20:30], upper: b3},
		{mode: modeIDListDiff, keys: keys[30:], bits: []byte{0x81}, upper: inf},
	}
	if len(ranges) != len(want) {
		t.Fatalf("%d ranges, want %d", len(ranges), len(want))
	}
	for i, r := range ranges {
		w := want[i]
		if r.mode != w.mode || r.fp != w.fp || r.upper != w.upper || !bytes.Equal(r.bits, w.bits) || len(r.keys) != len(w.keys) {
			t.Fatalf("range %d: %+v, want %+v", i, r, w)
		}
		for j := range r.keys {
			if r.keys[j] != w.keys[j] {
				t.Fatalf("range %d key %d differs", i, j)
			}
		}
	}
}
