package varint

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"testing"
)

func TestUvarint(t *testing.T) {
	tests := []struct {
		name    string
		b       []byte
		limit   uint64
		want    uint64
		wantN   int
		wantErr error
	}{
		{name: "zero", b: []byte{0}, limit: 0, want: 0, wantN: 1},
		{name: "one byte, trailing ignored", b: []byte{0x7f, 9}, limit: 200, want: 127, wantN: 1},
		{name: "two bytes", b: []byte{0x80, 0x01}, limit: 200, want: 128, wantN: 2},
		{name: "at the limit", b: []byte{0x80, 0x01}, limit: 128, want: 128, wantN: 2},
		{name: "max uint64", b: binary.AppendUvarint(nil, math.MaxUint64), limit: math.MaxUint64, want: math.MaxUint64, wantN: 10},
		{name: "over the limit", b: []byte{0x80, 0x01}, limit: 127, wantErr: ErrLimit},
		{name: "empty", b: nil, limit: 10, wantErr: ErrBad},
		{name: "cut short", b: []byte{0x80}, limit: 10, wantErr: ErrBad},
		{name: "not minimal", b: []byte{0x81, 0x00}, limit: 10, wantErr: ErrBad},
		{name: "zero padded", b: []byte{0x80, 0x00}, limit: 10, wantErr: ErrBad},
		{name: "overflow", b: bytes.Repeat([]byte{0xff}, 11), limit: math.MaxUint64, wantErr: ErrBad},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, n, err := Uvarint(tt.b, tt.limit)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
			if v != tt.want || n != tt.wantN {
				t.Errorf("got %d (%d bytes), want %d (%d bytes)", v, n, tt.want, tt.wantN)
			}
			r, rerr := Read(bytes.NewReader(tt.b), tt.limit)
			switch {
			case tt.wantErr == nil && (rerr != nil || r != tt.want):
				t.Errorf("Read: %d, %v; want %d", r, rerr, tt.want)
			case tt.wantErr != nil && rerr == nil:
				t.Errorf("Read: %d, want an error", r)
			}
		})
	}
}

func TestReadEOF(t *testing.T) {
	if _, err := Read(bytes.NewReader(nil), 10); err != io.EOF {
		t.Errorf("empty reader: %v, want io.EOF", err)
	}
	if _, err := Read(bytes.NewReader([]byte{0x80}), 10); err != io.ErrUnexpectedEOF {
		t.Errorf("cut reader: %v, want io.ErrUnexpectedEOF", err)
	}
}

func TestLen(t *testing.T) {
	var buf [binary.MaxVarintLen64]byte
	for _, v := range []uint64{0, 1, 127, 128, 16383, 16384, 1<<56 - 1, 1 << 56, math.MaxUint64} {
		if got, want := Len(v), binary.PutUvarint(buf[:], v); got != want {
			t.Errorf("Len(%d) = %d, want %d", v, got, want)
		}
	}
}
