package mesh

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"slices"
	"testing"

	"github.com/convene/convene/crdt"
)

func testCodec(t testing.TB) *codec {
	c, err := newCodec()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.close)
	return c
}

// ops makes n stand-in operations of size bytes each; the batch codec
// does not look inside them.
func ops(n, size int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		b := make([]byte, size)
		for j := range b {
			b[j] = byte(i*7 + j%13)
		}
		out[i] = b
	}
	return out
}

func TestBatchRoundTrip(t *testing.T) {
	c := testCodec(t)
	for _, tc := range []struct {
		name       string
		raws       [][]byte
		compressed bool
	}{
		{"one small", ops(1, 200), false},
		{"few", ops(3, 500), true},
		{"largest op", ops(1, crdt.MaxEnvelopeSize), true},
		{"many", ops(maxBatchOps, 2), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := c.encode(tc.raws)
			if got := b[1] == flagZstd; got != tc.compressed {
				t.Errorf("compressed = %v, want %v", got, tc.compressed)
			}
			got, err := c.decode(b)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.EqualFunc(got, tc.raws, bytes.Equal) {
				t.Error("decoded operations differ")
			}
		})
	}
}

func TestPackSplits(t *testing.T) {
	c := testCodec(t)
	raws := ops(100, 20<<10) // 2 MB: more than one message
	msgs := c.pack(raws)
	if len(msgs) < 2 {
		t.Fatalf("%d messages, want several", len(msgs))
	}
	var all [][]byte
	for _, m := range msgs {
		if len(m) > maxBatchBytes {
			t.Errorf("message of %d bytes", len(m))
		}
		got, err := c.decode(m)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, got...)
	}
	if !slices.EqualFunc(all, raws, bytes.Equal) {
		t.Error("packed operations differ")
	}
}

func TestBatchDecodeRejects(t *testing.T) {
	c := testCodec(t)
	plain := func(body ...[]byte) []byte {
		return append([]byte{batchVersion, 0}, bytes.Join(body, nil)...)
	}
	uv := func(v uint64) []byte { return binary.AppendUvarint(nil, v) }
	huge := bytes.Repeat([]byte{0}, maxBatchBytes+1)
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"short", []byte{1}},
		{"version", append([]byte{2, 0}, plain(uv(1), uv(1), []byte{9})[2:]...)},
		{"flags", append([]byte{1, 2}, plain(uv(1), uv(1), []byte{9})[2:]...)},
		{"no ops", plain(uv(0))},
		{"too many ops", plain(uv(maxBatchOps + 1))},
		{"count beyond body", plain(uv(3), uv(1), []byte{9})},
		{"zero length op", plain(uv(1), uv(0), []byte{0})},
		{"oversized op", plain(uv(1), uv(crdt.MaxEnvelopeSize+1), make([]byte, crdt.MaxEnvelopeSize+1))},
		{"truncated op", plain(uv(1), uv(5), []byte{1, 2})},
		{"trailing", plain(uv(1), uv(1), []byte{9, 9})},
		{"non-minimal varint", plain([]byte{0x81, 0x00}, uv(1), []byte{9})},
		{"bad zstd", []byte{1, flagZstd, 0xde, 0xad, 0xbe, 0xef}},
		{"zstd bomb", append([]byte{1, flagZstd}, c.enc.EncodeAll(huge, nil)...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := c.decode(tc.b); !errors.Is(err, errBatch) {
				t.Errorf("decode: %v, want a batch error", err)
			}
		})
	}
}

// FuzzDecodeBatch checks that no input crashes the decoder or gets past it
// out of bounds, and that whatever decodes survives a round trip.
func FuzzDecodeBatch(f *testing.F) {
	c := testCodec(f)
	f.Add(c.encode(ops(1, 150)))
	f.Add(c.encode(ops(4, 700)))
	f.Add([]byte{1, 0, 2, 1, 0xaa, 1, 0xbb})
	f.Add([]byte{1, flagZstd})
	f.Fuzz(func(t *testing.T, b []byte) {
		raws, err := c.decode(b)
		if err != nil {
			if !errors.Is(err, errBatch) {
				t.Fatalf("error %v is not a batch error", err)
			}
			return
		}
		if len(raws) == 0 || len(raws) > maxBatchOps {
			t.Fatalf("%d operations", len(raws))
		}
		for _, r := range raws {
			if len(r) == 0 || len(r) > crdt.MaxEnvelopeSize {
				t.Fatalf("operation of %d bytes", len(r))
			}
		}
		again, err := c.decode(c.encode(raws))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.EqualFunc(again, raws, bytes.Equal) {
			t.Fatal("round trip changed the operations")
		}
	})
}

func TestReadFrame(t *testing.T) {
	uv := func(v uint64) []byte { return binary.AppendUvarint(nil, v) }
	frame := func(typ byte, parts ...[]byte) []byte { return append([]byte{typ}, bytes.Join(parts, nil)...) }
	for _, tc := range []struct {
		name    string
		b       []byte
		want    error // nil: the frame reads
		payload []byte
	}{
		{"recon", frame(frameRecon, uv(2), []byte{1, 2}), nil, []byte{1, 2}},
		{"end", frame(frameEnd, uv(0)), nil, []byte{}},
		{"non-minimal length", frame(frameRecon, []byte{0x82, 0x00}, []byte{1, 2}), errFrame, nil},
		{"length overflows", frame(framePush, bytes.Repeat([]byte{0xff}, 10), []byte{1}), errFrame, nil},
		{"oversized push", frame(framePush, uv(maxBatchBytes+1)), errFrame, nil},
		{"end with a payload", frame(frameEnd, uv(1), []byte{0}), errFrame, nil},
		{"request", frame(frameRequest, uv(3), []byte{1, 2, 3}), nil, []byte{1, 2, 3}},
		{"oversized request", frame(frameRequest, uv(uint64(maxRequestBytes)+1)), errFrame, nil},
		{"answered", frame(frameAnswered, uv(0)), nil, []byte{}},
		{"answered with a payload", frame(frameAnswered, uv(1), []byte{0}), errFrame, nil},
		{"truncated", frame(frameRecon, uv(5), []byte{1}), io.ErrUnexpectedEOF, nil},
		{"cut in the length", frame(frameRecon, []byte{0x82}), io.EOF, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, payload, err := readFrame(bufio.NewReader(bytes.NewReader(tc.b)))
			if !errors.Is(err, tc.want) || (tc.want == nil && !bytes.Equal(payload, tc.payload)) {
				t.Errorf("readFrame: %q, %v; want %q, %v", payload, err, tc.payload, tc.want)
			}
		})
	}
}
