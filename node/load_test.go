package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/internal/testkit"
)

// TestStartPaths: the three ways a node starts give the same state and the
// same reconciliation index as a rebuild from the log alone: after a clean
// Close (state snapshot and saved index, nothing replayed), after kill -9
// (both files stale: the operations written since are replayed, and the
// index is the saved file plus the store's journal of what was written
// since), and with neither file.
func TestStartPaths(t *testing.T) {
	n, dir := initNode(t, false)
	_, _, proposal := workshop(t, n)
	n.Close()

	// A crash image: the data directory copied while a node that wrote
	// since its start still runs (every write is synced before Act
	// returns, so the copy is what kill -9 would leave).
	n = openNode(t, dir, false)
	for _, text := range []string{"one", "two", "three"} {
		act(t, n, &crdt.CommentBody{Proposal: proposal, Text: text})
	}
	total := n.oplog.Len()
	crashed := testkit.CopyDir(t, dir)
	n.Close()

	bare := testkit.CopyDir(t, dir)
	idx, _ := filepath.Glob(filepath.Join(bare, storeDir, "recon-*.idx"))
	for _, p := range append(idx, filepath.Join(bare, snapshotFile)) {
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
	}

	type result struct {
		snap             []byte
		digest           string
		ops, replayed, n int
	}
	start := func(dir string) result {
		n := openNode(t, dir, false)
		defer n.Close()
		var r result
		n.View(func(s *crdt.State) { r.snap, r.n = s.Snapshot(), s.Len() })
		r.digest, r.ops, r.replayed = n.oplog.Digest(), n.oplog.Len(), n.unsaved
		return r
	}
	want := start(bare)
	if want.ops != total || want.n != total {
		t.Fatalf("rebuilt from the log: %d ops in the log, %d in the state; want %d", want.ops, want.n, total)
	}
	for _, tc := range []struct {
		name     string
		dir      string
		replayed int
	}{
		{"clean", dir, 0},
		{"kill -9", crashed, 3},
	} {
		got := start(tc.dir)
		if got.digest != want.digest || got.ops != want.ops || !bytes.Equal(got.snap, want.snap) {
			t.Errorf("%s: %d ops, digest %s; the rebuild has %d, %s (states equal: %v)", tc.name, got.ops, got.digest, want.ops, want.digest, bytes.Equal(got.snap, want.snap))
		}
		if got.replayed != tc.replayed {
			t.Errorf("%s: %d operations replayed, want %d", tc.name, got.replayed, tc.replayed)
		}
	}
}

// TestRebuiltSavedSoon: a start that rebuilt the state from the log saves
// the snapshot soon after, keyed to the log, so that a crash then (kill
// -9: the data directory copied while the node runs) starts from the
// snapshot with nothing to replay; a start from a snapshot does not save.
func TestRebuiltSavedSoon(t *testing.T) {
	n, dir := initNode(t, false)
	workshop(t, n)
	n.Close()
	if err := os.Remove(filepath.Join(dir, snapshotFile)); err != nil {
		t.Fatal(err)
	}

	open := func(dir string) *Node {
		t.Helper()
		n, err := Open(context.Background(), Config{Dir: dir, SaveRebuilt: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { n.Close() })
		return n
	}
	n = open(dir)
	if !n.rebuilt {
		t.Fatal("a start with no snapshot did not count as a rebuild")
	}
	testkit.Eventually(t, time.Minute, "the rebuilt state's snapshot", func() (bool, string) {
		key, _, err := readSnapshot(dir)
		if err != nil {
			return false, err.Error()
		}
		want := snapshotKey{ops: n.oplog.Len(), digest: n.oplog.Digest()}
		return key == want, fmt.Sprintf("snapshot of %d ops, log of %d", key.ops, want.ops)
	})
	n.saveMu.Lock() // the save is done, not only its file
	n.saveMu.Unlock()
	crashed := testkit.CopyDir(t, dir)
	n.Close()

	c := open(crashed)
	if c.rebuilt || c.unsaved != 0 {
		t.Errorf("after a crash past the save: rebuilt %v, %d replayed; want a start from the snapshot", c.rebuilt, c.unsaved)
	}
	if c.saveTimer != nil {
		t.Error("a start from the snapshot scheduled a save")
	}
}

// TestReplay: replaying the log into an empty state, whatever the cores
// and however the chunks fall, gives the node's own state; a stored entry
// that does not decode ends the replay with an error instead of being
// skipped (the store is corrupt), and a cancelled context ends it too.
func TestReplay(t *testing.T) {
	n, _ := initNode(t, true)
	_, group, proposal := workshop(t, n)
	for i := range 3*replayChunk + 5 {
		act(t, n, &crdt.EndorseBody{Proposal: proposal, Group: group, Revision: proposal, Endorse: i%2 == 0})
	}
	var raws [][]byte
	if err := n.oplog.IterateRaw(t.Context(), func(raw []byte) error { raws = append(raws, bytes.Clone(raw)); return nil }); err != nil {
		t.Fatal(err)
	}
	var want []byte
	n.View(func(s *crdt.State) { want = s.Snapshot() })
	from := func(raws [][]byte) func(context.Context, func([]byte) error) error {
		// As the store does, each encoding is lent for the call only:
		// the buffer is written over after it.
		return func(ctx context.Context, emit func([]byte) error) error {
			var lent []byte
			for _, r := range raws {
				lent = append(lent[:0], r...)
				if err := emit(lent); err != nil {
					return err
				}
				for i := range lent {
					lent[i] = 0xaa
				}
			}
			return nil
		}
	}
	for _, tc := range []struct {
		procs int
		lim   replayLimits
	}{
		{1, replayLimits{replayChunk, replayBytes}},
		{2, replayLimits{replayChunk, replayBytes}},
		{7, replayLimits{replayChunk, replayBytes}},
		// Many more chunks than are ever in flight, so that chunks are
		// used again many times, cut by count and by size.
		{1, replayLimits{7, replayBytes}},
		{2, replayLimits{replayChunk, 4000}},
	} {
		t.Run(fmt.Sprint(tc.procs, " cores, chunks of ", tc.lim.ops, " or ", tc.lim.bytes, " bytes"), func(t *testing.T) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(tc.procs))
			st := crdt.NewState(n.creds.Founder)
			applied := 0
			err := n.replayWith(t.Context(), tc.lim, from(raws), func(e *crdt.Envelope, op crdt.Op, err error) {
				if err != nil {
					t.Fatalf("op %d: %v", applied, err)
				}
				if w, _ := crdt.DecodeEnvelope(raws[applied]); e.ID() != w.ID() {
					t.Fatalf("op %d applied out of order", applied)
				}
				applied++
				st.Apply(op)
			})
			if err != nil || applied != len(raws) {
				t.Fatalf("replay: %d of %d, %v", applied, len(raws), err)
			}
			if !bytes.Equal(st.Snapshot(), want) {
				t.Fatal("the replayed state differs from the node's")
			}

			bad := slices.Clone(raws)
			bad[len(bad)/2] = []byte("not an envelope")
			applied = 0
			err = n.replayWith(t.Context(), tc.lim, from(bad), func(*crdt.Envelope, crdt.Op, error) { applied++ })
			if err == nil || applied > len(bad)/2 || !strings.Contains(err.Error(), fmt.Sprintf("the %d-th", len(bad)/2+1)) {
				t.Fatalf("a corrupt entry: %v after %d applied", err, applied)
			}

			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			if err := n.replayWith(ctx, tc.lim, from(raws), func(*crdt.Envelope, crdt.Op, error) {}); !errors.Is(err, context.Canceled) {
				t.Fatalf("cancelled: %v", err)
			}
		})
	}
}
