package mesh

import (
	"encoding/binary"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/node/recon"
)

// items makes n ascending items.
func items(n int) []recon.Item {
	out := make([]recon.Item, n)
	for i := range out {
		out[i].Clock = crdt.Clock{Wall: 1_700_000_000_000 + int64(i/3), Logical: uint32(i % 3)}
		out[i].ID[0], out[i].ID[31] = byte(i), byte(i>>8)
	}
	return out
}

// refsOf are the refs of items, as a request names them.
func refsOf(items []recon.Item) []recon.Ref {
	var out []recon.Ref
	for _, it := range items {
		if r := it.Ref(); len(out) == 0 || out[len(out)-1] != r {
			out = append(out, r)
		}
	}
	return out
}

func TestRequestRoundTrip(t *testing.T) {
	for _, n := range []int{1, 2, 100, maxRequestItems} {
		want := items(n)
		b := encodeRequest(want)
		if len(b) > maxRequestBytes {
			t.Errorf("%d items: %d bytes, limit %d", n, len(b), maxRequestBytes)
		}
		if n == maxRequestItems && len(b) > n*(recon.RefLen+4) {
			t.Errorf("%d items in %d bytes: a ref should cost at most %d", n, len(b), recon.RefLen+4)
		}
		got, err := decodeRequest(b)
		if err != nil {
			t.Fatalf("%d items: %v", n, err)
		}
		if !slices.Equal(got, refsOf(want)) {
			t.Errorf("%d items: decoded refs differ", n)
		}
	}
	// Two items that share a ref (their author made them so) are named
	// once: the peer answers the ref with both.
	twins := items(3)
	twins[2] = twins[1]
	twins[2].ID[31] ^= 0xff
	slices.SortFunc(twins, recon.Item.Compare)
	got, err := decodeRequest(encodeRequest(twins))
	if err != nil || len(got) != 2 || got[1] != twins[1].Ref() {
		t.Errorf("items sharing a ref: decoded %v, %v; want 2 refs", got, err)
	}
}

func TestRequestRejects(t *testing.T) {
	uv := func(v uint64) []byte { return binary.AppendUvarint(nil, v) }
	withID := func(wallDelta, logical uint64, id byte) []byte {
		b := append(uv(wallDelta), uv(logical)...)
		b = append(b, id)
		return append(b, make([]byte, recon.RefLen-1)...)
	}
	cat := func(parts ...[]byte) []byte { return slices.Concat(parts...) }
	one := cat(uv(1), withID(5, 0, 0))
	if _, err := decodeRequest(one); err != nil {
		t.Fatalf("the well-formed request: %v", err)
	}
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"no items", uv(0)},
		{"too many", cat(uv(maxRequestItems+1), withID(1, 0, 0))},
		{"count beyond the body", cat(uv(2), withID(1, 0, 0))},
		{"non-minimal count", cat([]byte{0x81, 0x00}, withID(1, 0, 0))},
		{"non-minimal wall", cat(uv(1), []byte{0x85, 0x00}, uv(0), make([]byte, recon.RefLen))},
		{"non-minimal logical", cat(uv(1), uv(1), []byte{0x80, 0x00}, make([]byte, recon.RefLen))},
		{"truncated prefix", cat(uv(1), uv(200), uv(0), make([]byte, recon.RefLen-1))},
		{"a whole id", cat(uv(1), uv(200), uv(0), make([]byte, len(crdt.OpID{})))},
		{"trailing", cat(one, []byte{0})},
		{"logical out of range", cat(uv(1), withID(1, 1<<32, 0))},
		{"wall out of range", cat(uv(2), withID(1<<62, 0, 0), withID(1<<62, 0, 1))},
		{"duplicate", cat(uv(2), withID(1, 0, 7), withID(0, 0, 7))},
		{"descending", cat(uv(2), withID(1, 0, 7), withID(0, 0, 6))},
		{"descending logical", cat(uv(2), withID(1, 1, 7), withID(0, 0, 8))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, err := decodeRequest(tc.b); !errors.Is(err, errRequest) {
				t.Errorf("decoded %d refs, err %v; want a request error", len(got), err)
			}
		})
	}
}

// FuzzDecodeRequest checks that no input crashes the decoder or gets past
// it out of bounds, and that whatever decodes survives a round trip.
func FuzzDecodeRequest(f *testing.F) {
	f.Add(encodeRequest(items(1)))
	f.Add(encodeRequest(items(7)))
	f.Add([]byte{1, 5, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := decodeRequest(b)
		if err != nil {
			if !errors.Is(err, errRequest) {
				t.Fatalf("error %v is not a request error", err)
			}
			return
		}
		if len(got) == 0 || len(got) > maxRequestItems || len(b) > maxRequestBytes {
			t.Fatalf("%d refs in %d bytes", len(got), len(b))
		}
		for i, r := range got {
			if r.Clock.Wall < 0 || (i > 0 && got[i-1].Compare(r) >= 0) {
				t.Fatalf("ref %d out of range or order", i)
			}
		}
		if again := encodeRefs(got); !slices.Equal(again, b) {
			t.Fatal("the request has another encoding")
		}
	})
}

func TestOfferRoundTrip(t *testing.T) {
	for _, n := range []int{1, 2, 100, maxRequestItems} {
		want := items(n)
		b := encodeOffer(want)
		if len(b) > maxOfferBytes {
			t.Errorf("%d items: %d bytes, limit %d", n, len(b), maxOfferBytes)
		}
		got, err := decodeOffer(b)
		if err != nil {
			t.Fatalf("%d items: %v", n, err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%d items: decoded items differ", n)
		}
	}
}

func TestOfferRejects(t *testing.T) {
	uv := func(v uint64) []byte { return binary.AppendUvarint(nil, v) }
	withID := func(wallDelta, logical uint64, id byte) []byte {
		b := append(uv(wallDelta), uv(logical)...)
		b = append(b, id)
		return append(b, make([]byte, 31)...)
	}
	cat := func(parts ...[]byte) []byte { return slices.Concat(parts...) }
	one := cat(uv(1), withID(5, 0, 0))
	if _, err := decodeOffer(one); err != nil {
		t.Fatalf("the well-formed offer: %v", err)
	}
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"no items", uv(0)},
		{"too many", cat(uv(maxRequestItems+1), withID(1, 0, 0))},
		{"count beyond the body", cat(uv(2), withID(1, 0, 0))},
		{"non-minimal count", cat([]byte{0x81, 0x00}, withID(1, 0, 0))},
		{"non-minimal wall", cat(uv(1), []byte{0x85, 0x00}, uv(0), make([]byte, 32))},
		{"truncated id", cat(uv(1), uv(200), uv(0), make([]byte, 31))},
		{"trailing", cat(one, []byte{0})},
		{"logical out of range", cat(uv(1), withID(1, 1<<32, 0))},
		{"wall out of range", cat(uv(2), withID(1<<62, 0, 0), withID(1<<62, 0, 1))},
		{"duplicate", cat(uv(2), withID(1, 0, 7), withID(0, 0, 7))},
		{"descending", cat(uv(2), withID(1, 0, 7), withID(0, 0, 6))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, err := decodeOffer(tc.b); !errors.Is(err, errOffered) {
				t.Errorf("decoded %d items, err %v; want an offer error", len(got), err)
			}
		})
	}
}

// FuzzDecodeOffer is FuzzDecodeRequest for offers, which list whole
// items (the encoding requests had in recon/3: its corpus is this
// target's).
func FuzzDecodeOffer(f *testing.F) {
	f.Add(encodeOffer(items(1)))
	f.Add(encodeOffer(items(7)))
	f.Add([]byte{1, 5, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := decodeOffer(b)
		if err != nil {
			if !errors.Is(err, errOffered) {
				t.Fatalf("error %v is not an offer error", err)
			}
			return
		}
		if len(got) == 0 || len(got) > maxRequestItems || len(b) > maxOfferBytes {
			t.Fatalf("%d items in %d bytes", len(got), len(b))
		}
		for i, it := range got {
			if it.Clock.Wall < 0 || (i > 0 && got[i-1].Compare(it) >= 0) {
				t.Fatalf("item %d out of range or order", i)
			}
		}
		if again := encodeOffer(got); !slices.Equal(again, b) {
			t.Fatal("the offer has another encoding")
		}
	})
}

// TestClaims: a session asks only for what the index lacks and no other
// session is pulling; what another releases unanswered it may then ask
// for, and an expired claim no longer holds.
func TestClaims(t *testing.T) {
	c := newClaims()
	ix := recon.NewIndex()
	all := items(maxRequestItems + 10)
	ix.Insert(all[0])
	now := time.Now()

	a := &puller{c: c, pending: slices.Clone(all)}
	first := a.next(ix, now)
	if len(first) != maxRequestItems || first[0] != all[1] {
		t.Fatalf("first request: %d items from %v", len(first), first[0])
	}
	b := &puller{c: c, pending: slices.Clone(all)}
	if got := b.next(ix, now); len(got) != 9 || got[0] != all[maxRequestItems+1] {
		t.Fatalf("the second session asked for %d items", len(got))
	}
	if got := b.next(ix, now); got != nil {
		t.Fatalf("asked for %d items another session is pulling", len(got))
	}
	if len(b.pending) != maxRequestItems {
		t.Fatalf("%d pending, want the %d claimed elsewhere", len(b.pending), maxRequestItems)
	}

	// a's answer brings all but the last two items.
	for _, it := range first[:len(first)-2] {
		ix.Insert(it)
	}
	woken := c.wait()
	if !a.answered() {
		t.Fatal("no open request")
	}
	select {
	case <-woken:
	default:
		t.Fatal("the release woke no one")
	}
	if got := b.next(ix, now); !slices.Equal(got, first[len(first)-2:]) {
		t.Fatalf("after the release, asked for %d items, want the 2 never brought", len(got))
	}
	if a.answered() {
		t.Fatal("answered with no open request")
	}

	// Claims that outlive their deadline no longer hold.
	d := &puller{c: c, pending: slices.Clone(first[len(first)-2:])}
	if got := d.next(ix, now); got != nil {
		t.Fatalf("asked for %d claimed items", len(got))
	}
	if got := d.next(ix, now.Add(claimTTL+time.Second)); len(got) != 2 {
		t.Fatalf("asked for %d items of an expired claim, want 2", len(got))
	}
	// Ending a session releases what it still claims.
	d.end()
	e := &puller{c: c, pending: slices.Clone(first[len(first)-2:])}
	if got := e.next(ix, now); len(got) != 2 {
		t.Fatalf("asked for %d items after the session ended, want 2", len(got))
	}
}
