package export

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/convene/convene/crdt"
)

func TestBundleRoundTrip(t *testing.T) {
	s := newSample(t)
	b := s.bundle(crdt.Clock{})
	raws, info, err := ReadBundleInfo(bytes.NewReader(b), s.keys.Gathering, 0)
	if err != nil {
		t.Fatal(err)
	}
	if info.Gathering != s.keys.Gathering || info.Since != (crdt.Clock{}) {
		t.Errorf("header: %+v", info)
	}
	if !slices.EqualFunc(raws, s.raws, bytes.Equal) {
		t.Fatalf("read %d operations, wrote %d (or they differ)", len(raws), len(s.raws))
	}
	// Rebuilding a state from the bundle gives the same exports.
	st := crdt.NewState(s.keys.Founder)
	for _, r := range raws {
		_, op, err := s.keys.Accept(r)
		if err != nil {
			t.Fatal(err)
		}
		st.Apply(op)
	}
	var want, got bytes.Buffer
	x := s.collect()
	if err := JSON(&want, x); err != nil {
		t.Fatal(err)
	}
	y, err := Collect(st, Options{Gathering: s.keys.Gathering, AllSessions: true, Events: true, Generated: x.Generated, Freshness: x.Freshness})
	if err != nil {
		t.Fatal(err)
	}
	if err := JSON(&got, y); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(want.Bytes(), got.Bytes()) {
		t.Error("JSON export of a state rebuilt from the bundle differs")
	}
}

func TestBundleSince(t *testing.T) {
	s := newSample(t)
	// The operations from the tenth on.
	e, err := crdt.DecodeEnvelope(s.raws[10])
	if err != nil {
		t.Fatal(err)
	}
	raws, info, err := ReadBundleInfo(bytes.NewReader(s.bundle(e.Clock)), s.keys.Gathering, 0)
	if err != nil {
		t.Fatal(err)
	}
	if info.Since != e.Clock {
		t.Errorf("since %v, want %v", info.Since, e.Clock)
	}
	if !slices.EqualFunc(raws, s.raws[10:], bytes.Equal) {
		t.Errorf("got %d operations, want the %d from the tenth on", len(raws), len(s.raws[10:]))
	}
}

func TestBundleEmpty(t *testing.T) {
	w := newWorld(t, "empty")
	raws, err := ReadBundle(bytes.NewReader(w.bundle(crdt.Clock{})), w.keys.Gathering, 0)
	if err != nil || len(raws) != 0 {
		t.Fatalf("empty bundle: %d operations, %v", len(raws), err)
	}
}

func TestWriteBundleRefusesForeign(t *testing.T) {
	s := newSample(t)
	other := newWorld(t, "another gathering")
	other.do("founder", &crdt.GatheringBody{Name: "Other"})
	err := WriteBundle(io.Discard, s.keys.Gathering, crdt.Clock{}, func(fn func([]byte) error) error {
		return fn(other.raws[0])
	})
	if !errors.Is(err, crdt.ErrForeign) {
		t.Fatalf("writing another gathering's operation: %v", err)
	}
}

// rewrap rebuilds a bundle around a (possibly tampered) payload, with a
// correct count and checksum, as an attacker who knows the format would.
func rewrap(g crdt.GatheringID, since crdt.Clock, version byte, raws [][]byte, count int) []byte {
	var stream bytes.Buffer
	enc, _ := zstd.NewWriter(&stream)
	for _, r := range raws {
		enc.Write(binary.AppendUvarint(nil, uint64(len(r))))
		enc.Write(r)
	}
	enc.Close()
	b := bundleHeader(g, since)
	b[len(bundleMagic)] = version
	b = append(b, stream.Bytes()...)
	b = binary.BigEndian.AppendUint64(b, uint64(count))
	sum := sha256.Sum256(b)
	return append(b, sum[:]...)
}

func TestReadBundleRefuses(t *testing.T) {
	s := newSample(t)
	g := s.keys.Gathering
	good := s.bundle(crdt.Clock{})
	other := newWorld(t, "another gathering")
	other.do("founder", &crdt.GatheringBody{Name: "Other"})

	tampered := slices.Clone(s.raws)
	tampered[3] = slices.Clone(tampered[3])
	tampered[3][len(tampered[3])-70] ^= 1 // inside the sealed payload
	mixed := append(slices.Clone(s.raws), other.raws[0])
	late, _ := crdt.DecodeEnvelope(s.raws[5])

	cases := []struct {
		name string
		b    []byte
		want error // besides ErrBadBundle
		msg  string
	}{
		{"empty file", nil, nil, "not a convene bundle"},
		{"wrong magic", append([]byte("CONVENE-BUNDLE\n"), good[15:]...), nil, "not a convene bundle"},
		{"text file", []byte("hello"), nil, "not a convene bundle"},
		{"wrong version", rewrap(g, crdt.Clock{}, 2, s.raws, len(s.raws)), nil, "version 2"},
		{"foreign gathering", other.bundle(crdt.Clock{}), crdt.ErrForeign, "gathering"},
		{"bad checksum", append(slices.Clone(good[:len(good)-1]), good[len(good)-1]^0xff), nil, "checksum"},
		{"wrong count", rewrap(g, crdt.Clock{}, 1, s.raws, len(s.raws)+1), nil, "operations"},
		{"tampered envelope, checksum recomputed", rewrap(g, crdt.Clock{}, 1, tampered, len(tampered)), crdt.ErrSignature, "operation 3"},
		{"foreign envelope inside", rewrap(g, crdt.Clock{}, 1, mixed, len(mixed)), crdt.ErrForeign, "operation"},
		{"operation before since", rewrap(g, late.Clock, 1, s.raws, len(s.raws)), nil, "since"},
		{"trailing garbage", append(slices.Clone(good), "more"...), nil, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			raws, err := ReadBundle(bytes.NewReader(c.b), g, 0)
			if err == nil {
				t.Fatalf("accepted (%d operations)", len(raws))
			}
			if raws != nil {
				t.Errorf("returned %d operations with the error", len(raws))
			}
			if !errors.Is(err, ErrBadBundle) {
				t.Errorf("error %q does not wrap ErrBadBundle", err)
			}
			if c.want != nil && !errors.Is(err, c.want) {
				t.Errorf("error %q does not wrap %v", err, c.want)
			}
			if !strings.Contains(err.Error(), c.msg) {
				t.Errorf("error %q does not say %q", err, c.msg)
			}
		})
	}
}

func TestReadBundleTruncatedAndFlipped(t *testing.T) {
	s := newSample(t)
	good := s.bundle(crdt.Clock{})
	for n := range len(good) {
		if _, err := ReadBundle(bytes.NewReader(good[:n]), s.keys.Gathering, 0); !errors.Is(err, ErrBadBundle) {
			t.Fatalf("truncated to %d of %d bytes: %v", n, len(good), err)
		}
	}
	for i := range len(good) {
		b := slices.Clone(good)
		b[i] ^= 0x20
		if _, err := ReadBundle(bytes.NewReader(b), s.keys.Gathering, 0); !errors.Is(err, ErrBadBundle) {
			t.Fatalf("byte %d of %d flipped: %v", i, len(good), err)
		}
	}
}

func TestReadBundleLimit(t *testing.T) {
	s := newSample(t)
	var total int64
	for _, r := range s.raws {
		total += int64(len(r)) + 2
	}
	if _, err := ReadBundle(bytes.NewReader(s.bundle(crdt.Clock{})), s.keys.Gathering, total/2); !errors.Is(err, ErrBadBundle) {
		t.Fatalf("bundle over the limit: %v", err)
	}
	if _, err := ReadBundle(bytes.NewReader(s.bundle(crdt.Clock{})), s.keys.Gathering, total); err != nil {
		t.Fatalf("bundle within the limit: %v", err)
	}
}

// failingReader fails after n bytes.
type failingReader struct {
	r io.Reader
	n int
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errors.New("disk on fire")
	}
	p = p[:min(len(p), f.n)]
	n, err := f.r.Read(p)
	f.n -= n
	return n, err
}

func TestReadBundleReadError(t *testing.T) {
	s := newSample(t)
	good := s.bundle(crdt.Clock{})
	_, err := ReadBundle(&failingReader{r: bytes.NewReader(good), n: len(good) / 2}, s.keys.Gathering, 0)
	if err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("read error: %v", err)
	}
}

func BenchmarkReadBundle(b *testing.B) {
	w := newWorld(b, "bench")
	w.do("founder", &crdt.GatheringBody{Name: "Bench"})
	sess := w.do("founder", &crdt.SessionBody{Title: "S", Cap: 10})
	grp := w.do("founder", &crdt.GroupBody{Name: "G"})
	p := w.do("founder", &crdt.ProposalBody{Session: sess, Group: grp, Text: "first"})
	for i := range 2000 {
		w.do("founder", &crdt.CommentBody{Proposal: p, Text: strings.Repeat("comment ", 1+i%20)})
	}
	bundle := w.bundle(crdt.Clock{})
	var raw int
	for _, r := range w.raws {
		raw += len(r)
	}
	b.SetBytes(int64(raw))
	for b.Loop() {
		if _, err := ReadBundle(bytes.NewReader(bundle), w.keys.Gathering, 0); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(bundle))/float64(raw), "size/raw")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(w.raws)), "ns/op-read")
}
