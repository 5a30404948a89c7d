package crdt

import (
	"bytes"
	"errors"
	"testing"
	"testing/iotest"
)

// TestReadSnapshotStreamed: a snapshot several windows long, read a byte at
// a time, rebuilds a state whose snapshot is byte-identical; a truncated or
// over-long input, or a failing reader, is an error, never a state.
func TestReadSnapshotStreamed(t *testing.T) {
	founder := testSigner("founder").ID
	snap := applyOps(founder, syntheticOps(20_000, 20)).Snapshot()
	if len(snap) < 3*windowSize {
		t.Fatalf("snapshot of %d bytes: the test wants several windows", len(snap))
	}
	s, err := ReadSnapshot(founder, iotest.OneByteReader(bytes.NewReader(snap)), int64(len(snap)))
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Snapshot(); !bytes.Equal(got, snap) {
		t.Fatalf("streamed load changed the state (%d vs %d bytes)", len(got), len(snap))
	}
	for name, tc := range map[string]struct {
		b    []byte
		size int64
	}{
		"truncated":          {snap[:len(snap)-100], int64(len(snap) - 100)},
		"shorter than size":  {snap[:len(snap)-100], int64(len(snap))},
		"longer than size":   {append(bytes.Clone(snap), 0), int64(len(snap) + 1)},
		"cut in the header":  {snap[:20], 20},
		"size under a whole": {snap, int64(len(snap) - 1)},
	} {
		if _, err := ReadSnapshot(founder, bytes.NewReader(tc.b), tc.size); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", name, err)
		}
	}
	failing := iotest.DataErrReader(iotest.TimeoutReader(bytes.NewReader(snap)))
	if _, err := ReadSnapshot(founder, failing, int64(len(snap))); err == nil {
		t.Error("a failing reader gave a state")
	}
}
