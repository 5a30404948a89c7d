package crdt

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"testing"
)

// TestWireRoundTrip encodes one body of every kind, with every optional
// field present and absent, and decodes it back to the same bytes.
func TestWireRoundTrip(t *testing.T) {
	w := sampleOps(t)
	bodies := []Body{
		&SessionBody{Title: "t", Cap: 1},
		&SessionUpdateBody{Session: w.ref("s"), Prompt: ptr(""), Open: ptr(false)},
		&EventBody{EventFields{Title: "x", Start: "2026-05-01T10:00:00Z", End: "2026-05-01T10:00:00Z", Timezone: "UTC", Status: Tentative}},
		&EventUpdateBody{Event: w.ref("e"), Set: EventPatch{
			Title: ptr("t"), Description: ptr(""), Start: ptr("2026-05-01T10:00:00Z"), End: ptr("2026-05-01T11:00:00Z"),
			Timezone: ptr("UTC"), Place: &Place{Venue: "v", Address: "a", Lat: ptr(-90.0), Lon: ptr(math.Copysign(0, -1))},
			OnlineURL: ptr(""), Language: ptr("de"), Tags: &[]string{"x", "y"}, Capacity: ptr(1_000_000), Status: ptr(Cancelled)}},
		&EventUpdateBody{Event: w.ref("e"), Set: EventPatch{Place: &Place{}}},
	}
	for _, op := range w.ops {
		bodies = append(bodies, op.Body)
	}
	for _, b := range bodies {
		if err := b.validate(); err != nil {
			t.Fatalf("%T: %v", b, err)
		}
		enc := appendPayload(nil, b)
		got, err := decodePayload(enc)
		if err != nil {
			t.Fatalf("%T: %v", b, err)
		}
		if again := appendPayload(nil, got); !bytes.Equal(again, enc) {
			t.Errorf("%T re-encodes differently:\n%x\n%x", b, enc, again)
		}
	}
}

// TestWireStrict feeds payloads that are one step off a valid encoding.
func TestWireStrict(t *testing.T) {
	hdr := func(k Kind) []byte { return []byte{payloadVersion, byte(k)} }
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	id := bytes.Repeat([]byte{7}, 32)
	nan := binary.BigEndian.AppendUint64(nil, math.Float64bits(math.NaN()))
	zero := binary.BigEndian.AppendUint64(nil, 0)
	// An event update setting only the place: id, then presence bytes.
	placeUpdate := func(place []byte) []byte {
		return cat(hdr(KindEventUpdate), id, []byte{0, 0, 0, 0, 0, 1}, place, []byte{0, 0, 0, 0, 0})
	}
	u64 := func(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }
	for _, c := range []struct {
		name  string
		plain []byte
		want  error
	}{
		{"valid", cat(hdr(KindGathering), []byte{1, 'x'}), nil},
		{"empty", nil, ErrMalformed},
		{"old version", []byte{1, byte(KindGathering), 1, 'x'}, ErrMalformed},
		{"unknown kind", cat(hdr(99), []byte{1, 'x'}), ErrMalformed},
		{"trailing byte", cat(hdr(KindGathering), []byte{1, 'x', 0}), ErrMalformed},
		{"truncated string", cat(hdr(KindGathering), []byte{2, 'x'}), ErrMalformed},
		{"long varint", cat(hdr(KindGathering), []byte{0x81, 0x00, 'x'}), ErrMalformed},
		{"huge varint", cat(hdr(KindGathering), bytes.Repeat([]byte{0xff}, 11)), ErrMalformed},
		{"string over limit", cat(hdr(KindGathering), binary.AppendUvarint(nil, MaxName+1), bytes.Repeat([]byte{'x'}, MaxName+1)), ErrTooLarge},
		{"not UTF-8", cat(hdr(KindGathering), []byte{1, 0xff}), ErrMalformed},
		{"empty name", cat(hdr(KindGathering), []byte{0}), ErrInvalid},
		{"truncated id", cat(hdr(KindFacilitator), id[:31]), ErrMalformed},
		{"bool 2", cat(hdr(KindHide), id, []byte{2}), ErrMalformed},
		{"bool 1", cat(hdr(KindHide), id, []byte{1}), nil},
		{"cap long varint", cat(hdr(KindSession), []byte{1, 't', 0, 0x82, 0x00}), ErrMalformed},
		{"cap", cat(hdr(KindSession), []byte{1, 't', 0, 0x02}), nil},
		{"cap negative", cat(hdr(KindSession), []byte{1, 't', 0, 0x01}), ErrInvalid},
		{"presence 2", cat(hdr(KindSessionUpdate), id, []byte{2, 0, 0, 0}), ErrMalformed},
		{"changes nothing", cat(hdr(KindSessionUpdate), id, []byte{0, 0, 0, 0}), ErrInvalid},
		{"parents none", cat(hdr(KindRevision), id, id, []byte{1, 't', 0}), ErrInvalid},
		{"parents over limit", cat(hdr(KindRevision), id, id, []byte{1, 't'}, binary.AppendUvarint(nil, MaxParents+1)), ErrTooLarge},
		{"parents truncated", cat(hdr(KindRevision), id, id, []byte{1, 't', 2}, id), ErrMalformed},
		{"parents", cat(hdr(KindRevision), id, id, []byte{1, 't', 1}, id), nil},
		{"place", placeUpdate(cat([]byte{0, 0, 1}, zero, []byte{1}, zero)), nil},
		{"lat NaN", placeUpdate(cat([]byte{0, 0, 1}, nan, []byte{1}, zero)), ErrMalformed},
		{"lat without lon", placeUpdate(cat([]byte{0, 0, 1}, zero, []byte{0})), ErrInvalid},
		{"removal", cat(hdr(KindRemoval), id, []byte{1, 'r', 2}, u64(1), u64(2)), nil},
		{"removal keeps nothing", cat(hdr(KindRemoval), id, []byte{0, 0}), nil},
		{"removal keep unsorted", cat(hdr(KindRemoval), id, []byte{0, 2}, u64(2), u64(1)), ErrInvalid},
		{"removal keep repeated", cat(hdr(KindRemoval), id, []byte{0, 2}, u64(2), u64(2)), ErrInvalid},
		{"removal keep truncated", cat(hdr(KindRemoval), id, []byte{0, 2}, u64(1), []byte{0, 0, 0}), ErrMalformed},
		{"removal keep over limit", cat(hdr(KindRemoval), id, []byte{0}, binary.AppendUvarint(nil, MaxKeep+1)), ErrTooLarge},
		{"removal reason over limit", cat(hdr(KindRemoval), id, binary.AppendUvarint(nil, maxReason+1)), ErrTooLarge},
		{"seating", cat(hdr(KindSeating), []byte{6}, []byte("seated")), nil},
		{"seating unknown", cat(hdr(KindSeating), []byte{6}, []byte("closed")), ErrInvalid},
		{"seating too long", cat(hdr(KindSeating), []byte{7}, []byte("seatedx")), ErrTooLarge},
		{"seat", cat(hdr(KindSeat), id, []byte{1}), nil},
		{"seat bool 2", cat(hdr(KindSeat), id, []byte{2}), ErrMalformed},
		{"tags over limit", cat(hdr(KindEventUpdate), id, []byte{0, 0, 0, 0, 0, 0, 0, 0, 1}, binary.AppendUvarint(nil, MaxTags+1)), ErrTooLarge},
	} {
		body, err := decodePayload(c.plain)
		if c.want == nil {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			} else if !bytes.Equal(appendPayload(nil, body), c.plain) {
				t.Errorf("%s: re-encodes differently", c.name)
			}
			continue
		}
		if !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
	}
}
