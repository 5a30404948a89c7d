package store

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	ds "github.com/ipfs/go-datastore"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/internal/testkit"
	"github.com/convene/convene/node/recon"
)

func sortedItems(envs []*crdt.Envelope) []Item {
	items := make([]Item, len(envs))
	for i, e := range envs {
		items[i] = Item{Clock: e.Clock, ID: e.ID()}
	}
	slices.SortFunc(items, Item.Compare)
	return items
}

func TestLogPutGetIterate(t *testing.T) {
	ctx := context.Background()
	g := newTestGathering(t, "put")
	envs := g.ops(t, 60)
	shuffled := slices.Clone(envs)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	want := sortedItems(envs)

	for name, s := range stores(t) {
		t.Run(name, func(t *testing.T) {
			l := openLogT(t, s, g.keys.Gathering)
			// Two batches, out of order.
			for _, batch := range [][]*crdt.Envelope{shuffled[:25], shuffled[25:]} {
				added, err := l.Put(ctx, batch)
				if err != nil || added != len(batch) {
					t.Fatalf("Put: added %d, %v; want %d", added, err, len(batch))
				}
			}
			if l.Len() != len(envs) {
				t.Fatalf("Len = %d, want %d", l.Len(), len(envs))
			}
			got := iterateIDs(t, l)
			for i := range want {
				if got[i] != want[i].ID {
					t.Fatalf("Iterate position %d: %s, want %s", i, got[i], want[i].ID)
				}
			}
			var items []Item
			if err := l.Items(ctx, func(it Item) error { items = append(items, it); return nil }); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(items, want) {
				t.Fatal("Items differ from (clock, id) order")
			}

			missing := g.op(t, crdt.Clock{Wall: 5}, "never stored")
			raws, err := l.Get(ctx, []Item{want[3], {Clock: missing.Clock, ID: missing.ID()}, want[0]})
			if err != nil {
				t.Fatal(err)
			}
			if len(raws) != 2 {
				t.Fatalf("Get returned %d encodings, want 2 (missing one skipped)", len(raws))
			}
			for i, it := range []Item{want[3], want[0]} {
				e, err := crdt.DecodeEnvelope(raws[i])
				if err != nil || e.ID() != it.ID {
					t.Fatalf("Get[%d]: %v, id %v, want %s", i, err, e, it.ID)
				}
			}
			if raws, err := l.Get(ctx, []Item{want[9]}); err != nil || len(raws) != 1 || !slices.Equal(raws[0], envByID(envs, want[9].ID).Bytes()) {
				t.Fatalf("Get(one item): %d encodings, %v", len(raws), err)
			}
			// An item is its clock and id: the id at another clock is not
			// stored.
			if raws, err := l.Get(ctx, []Item{{Clock: missing.Clock, ID: want[9].ID}}); err != nil || len(raws) != 0 {
				t.Fatalf("Get(id at another clock): %d encodings, %v", len(raws), err)
			}
			if !l.Contains(want[7]) || l.Contains(Item{Clock: missing.Clock, ID: missing.ID()}) {
				t.Fatal("Contains is wrong")
			}
			// One key an operation, nothing beside the log's own.
			keys := 0
			if err := s.scan(ctx, "/g", nil, true, func(k, _ []byte) error { keys++; return nil }); err != nil {
				t.Fatal(err)
			}
			if keys != len(envs) {
				t.Fatalf("%d keys under /g for %d operations", keys, len(envs))
			}
		})
	}
}

func envByID(envs []*crdt.Envelope, id crdt.OpID) *crdt.Envelope {
	for _, e := range envs {
		if e.ID() == id {
			return e
		}
	}
	return nil
}

func TestLogIdempotent(t *testing.T) {
	ctx := context.Background()
	g := newTestGathering(t, "idem")
	envs := g.ops(t, 10)
	for name, s := range stores(t) {
		t.Run(name, func(t *testing.T) {
			l := openLogT(t, s, g.keys.Gathering)
			if n, err := l.Put(ctx, envs[:6]); n != 6 || err != nil {
				t.Fatalf("first Put: %d, %v", n, err)
			}
			digest := l.Digest()
			// The same again, with duplicates inside the batch.
			if n, err := l.Put(ctx, append(slices.Clone(envs[:6]), envs[2], envs[2])); n != 0 || err != nil {
				t.Fatalf("repeated Put: %d, %v; want 0", n, err)
			}
			if l.Digest() != digest || l.Len() != 6 {
				t.Fatal("a repeated Put changed the log")
			}
			fresh, err := l.PutNew(ctx, []*crdt.Envelope{envs[7], envs[1], envs[7], envs[8]})
			if err != nil || len(fresh) != 2 || fresh[0] != envs[7] || fresh[1] != envs[8] {
				t.Fatalf("PutNew: %v, %v; want envs 7 and 8", fresh, err)
			}
			if l.Len() != 8 {
				t.Fatalf("Len = %d, want 8", l.Len())
			}
		})
	}
}

func TestLogRefusesForeign(t *testing.T) {
	ctx := context.Background()
	g, other := newTestGathering(t, "a"), newTestGathering(t, "b")
	for name, s := range stores(t) {
		t.Run(name, func(t *testing.T) {
			l := openLogT(t, s, g.keys.Gathering)
			batch := append(g.ops(t, 2), other.ops(t, 1)...)
			if _, err := l.Put(ctx, batch); !errors.Is(err, crdt.ErrForeign) {
				t.Fatalf("Put of a foreign op: %v, want ErrForeign", err)
			}
			if l.Len() != 0 {
				t.Fatal("a refused batch was partly stored")
			}
		})
	}
}

// TestDigestMatchesIndex: two logs with the same set, filled in different
// orders and batches, agree with each other and with a freshly loaded index.
func TestDigest(t *testing.T) {
	ctx := context.Background()
	g := newTestGathering(t, "digest")
	envs := g.ops(t, 40)
	a, b := openLogT(t, OpenMemory(), g.keys.Gathering), openLogT(t, OpenMemory(), g.keys.Gathering)
	for _, e := range envs {
		if _, err := a.Put(ctx, []*crdt.Envelope{e}); err != nil {
			t.Fatal(err)
		}
	}
	if a.Digest() == b.Digest() {
		t.Fatal("empty and full logs have the same digest")
	}
	rev := slices.Clone(envs)
	slices.Reverse(rev)
	if _, err := b.Put(ctx, rev); err != nil {
		t.Fatal(err)
	}
	ix := recon.NewIndex()
	if err := ix.Load(sortedItems(envs)); err != nil {
		t.Fatal(err)
	}
	if a.Digest() != b.Digest() || a.Digest() != ix.Digest() {
		t.Fatalf("digests differ: %s %s %s", a.Digest(), b.Digest(), ix.Digest())
	}
	var n int
	b.ReadIndex(func(ix *recon.Index) { n = ix.Len() })
	if n != len(envs) {
		t.Fatalf("ReadIndex saw %d items, want %d", n, len(envs))
	}
}

func TestReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	g1, g2 := newTestGathering(t, "one"), newTestGathering(t, "two")
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	l1, l2 := openLogT(t, s, g1.keys.Gathering), openLogT(t, s, g2.keys.Gathering)
	if _, err := l1.Put(ctx, g1.ops(t, 30)); err != nil {
		t.Fatal(err)
	}
	if _, err := l2.Put(ctx, g2.ops(t, 5)); err != nil {
		t.Fatal(err)
	}
	ids1, digest1 := iterateIDs(t, l1), l1.Digest()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Log(ctx, g1.keys.Gathering); !errors.Is(err, ErrClosed) {
		t.Fatalf("Log after Close: %v", err)
	}

	s, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	l1 = openLogT(t, s, g1.keys.Gathering)
	if l1.Len() != 30 || l1.Digest() != digest1 || !slices.Equal(iterateIDs(t, l1), ids1) {
		t.Fatalf("after reopen: %d ops, digest %s; want 30, %s", l1.Len(), l1.Digest(), digest1)
	}
	if l2 := openLogT(t, s, g2.keys.Gathering); l2.Len() != 5 {
		t.Fatalf("second gathering has %d ops after reopen, want 5", l2.Len())
	}
	gs, err := s.Gatherings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []crdt.GatheringID{g1.keys.Gathering, g2.keys.Gathering}
	slices.SortFunc(want, func(a, b crdt.GatheringID) int { return strings.Compare(a.String(), b.String()) })
	if !slices.Equal(gs, want) {
		t.Fatalf("Gatherings = %v, want %v", gs, want)
	}
	if n, err := s.DiskUsage(ctx); err != nil || n <= 0 {
		t.Fatalf("DiskUsage = %d, %v", n, err)
	}
}

// TestLeftoverIDKeys: stores written before the log dropped its index by
// id hold a /g/<gathering>/i/<id> key beside each operation. They are left
// in place (docs/DECISIONS.md) and change nothing that reads the log.
func TestLeftoverIDKeys(t *testing.T) {
	ctx := context.Background()
	g := newTestGathering(t, "leftover")
	envs := g.ops(t, 20)
	for name, s := range stores(t) {
		t.Run(name, func(t *testing.T) {
			l := openLogT(t, s, g.keys.Gathering)
			if _, err := l.Put(ctx, envs[:10]); err != nil {
				t.Fatal(err)
			}
			// What the former Put wrote beside each operation.
			for _, e := range envs[:10] {
				v := binary.BigEndian.AppendUint64(nil, uint64(e.Clock.Wall))
				v = binary.BigEndian.AppendUint32(v, e.Clock.Logical)
				if err := s.ds.Put(ctx, ds.RawKey("/g/"+g.keys.Gathering.String()+"/i/"+e.ID().String()), v); err != nil {
					t.Fatal(err)
				}
			}
			if n, err := l.Put(ctx, envs[10:]); n != 10 || err != nil {
				t.Fatalf("Put beside the leftovers: %d, %v", n, err)
			}
			ix, err := l.scanIndex(ctx)
			if err != nil || ix.Len() != len(envs) || ix.Digest() != l.Digest() {
				t.Fatalf("a scan of the log beside the leftovers: %v", err)
			}
			var items []Item
			if err := l.Items(ctx, func(it Item) error { items = append(items, it); return nil }); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(items, sortedItems(envs)) || len(iterateIDs(t, l)) != len(envs) {
				t.Fatal("Items or Iterate read the leftovers")
			}
			if gs, err := s.Gatherings(ctx); err != nil || !slices.Equal(gs, []crdt.GatheringID{g.keys.Gathering}) {
				t.Fatalf("Gatherings = %v, %v", gs, err)
			}
		})
	}
}

// TestPutIsSynced simulates a power loss: the file system keeps only what
// was fsynced. Everything Put acknowledged survives; a write made without
// sync (the pebbleds default) does not, which shows the test can tell.
func TestPutIsSynced(t *testing.T) {
	ctx := context.Background()
	g := newTestGathering(t, "sync")
	fs := vfs.NewCrashableMem()
	s, err := Open("/db", withFS(fs))
	if err != nil {
		t.Fatal(err)
	}
	l := openLogT(t, s, g.keys.Gathering)
	envs := g.ops(t, 20)
	for i := 0; i < len(envs); i += 4 {
		if _, err := l.Put(ctx, envs[i:i+4]); err != nil {
			t.Fatal(err)
		}
	}
	unsynced := g.op(t, crdt.Clock{Wall: 9}, "unsynced")
	if err := s.db.Set(l.opKey(Item{Clock: unsynced.Clock, ID: unsynced.ID()}).Bytes(), unsynced.Bytes(), pebble.NoSync); err != nil {
		t.Fatal(err)
	}
	crashed := fs.CrashClone(vfs.CrashCloneCfg{})
	s.Close()

	s, err = Open("/db", withFS(crashed))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	l = openLogT(t, s, g.keys.Gathering)
	if l.Len() != len(envs) {
		t.Fatalf("after a crash: %d ops, want the %d acknowledged (and not the unsynced one)", l.Len(), len(envs))
	}
	for _, e := range envs {
		if !l.Contains(Item{Clock: e.Clock, ID: e.ID()}) {
			t.Fatalf("acknowledged op %s lost", e.ID())
		}
	}
}

// TestWriteErrorChangesNothing: when the disk refuses writes (full, or
// failing), Put returns the error and the log stays as it was.
func TestWriteErrorChangesNothing(t *testing.T) {
	ctx := context.Background()
	g := newTestGathering(t, "full")
	fs, toggle := failingFS()
	log := &records{}
	s, err := Open("/db", withFS(fs), WithLogger(slog.New(log)))
	if err != nil {
		t.Fatal(err)
	}
	l := openLogT(t, s, g.keys.Gathering)
	envs := g.ops(t, 8)
	if _, err := l.Put(ctx, envs[:4]); err != nil {
		t.Fatal(err)
	}
	digest := l.Digest()
	toggle.On()
	if _, err := l.Put(ctx, envs[4:]); err == nil {
		t.Fatal("Put succeeded on a failing disk")
	}
	if l.Len() != 4 || l.Digest() != digest || l.Contains(Item{Clock: envs[5].Clock, ID: envs[5].ID()}) {
		t.Fatal("a failed Put changed the log")
	}
	// Pebble's report of the failure went to the store's logger.
	if log.count(slog.LevelError) == 0 {
		t.Error("pebble's fatal error was not logged to the store's logger")
	}
	// Pebble's report of the failure went to the store's logger.
	if log.count(slog.LevelError) == 0 {
		t.Error("pebble's fatal error was not logged to the store's logger")
	}
	// The store stays refused even once the disk answers again: pebble's
	// commit pipeline is broken after a failed WAL write.
	toggle.Off()
	if _, err := l.Put(ctx, envs[4:]); !errors.Is(err, ErrFailed) {
		t.Fatalf("Put after a failure: %v, want ErrFailed", err)
	}
	if err := s.Close(); !errors.Is(err, ErrFailed) {
		t.Fatalf("Close of a failed store: %v, want ErrFailed", err)
	}
}

// TestDiskFull: with too little free space, Put refuses before writing.
func TestDiskFull(t *testing.T) {
	ctx := context.Background()
	g := newTestGathering(t, "full")
	fs := vfs.NewMem()
	fs.TestingSetDiskUsage(vfs.DiskUsage{AvailBytes: 1 << 30, TotalBytes: 2 << 30})
	s, err := Open("/db", withFS(fs))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	l := openLogT(t, s, g.keys.Gathering)
	envs := g.ops(t, 4)
	if _, err := l.Put(ctx, envs[:2]); err != nil {
		t.Fatal(err)
	}
	fs.TestingSetDiskUsage(vfs.DiskUsage{AvailBytes: minFree / 2, TotalBytes: 2 << 30})
	if _, err := l.Put(ctx, envs[2:]); !errors.Is(err, ErrDiskFull) {
		t.Fatalf("Put on a full disk: %v, want ErrDiskFull", err)
	}
	if l.Len() != 2 {
		t.Fatal("a refused Put changed the log")
	}
	fs.TestingSetDiskUsage(vfs.DiskUsage{AvailBytes: 1 << 30, TotalBytes: 2 << 30})
	if n, err := l.Put(ctx, envs[2:]); n != 2 || err != nil {
		t.Fatalf("Put once space is back: %d, %v", n, err)
	}
}

const crashEnv = "CONVENE_STORE_CRASH_DIR"

// TestCrashChild is the child of TestKillDuringPuts: it Puts operations
// one by one, printing each item (wall clock and id) once Put returned.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashEnv)
	if dir == "" {
		t.Skip("run by TestKillDuringPuts")
	}
	g := newTestGathering(t, "crash")
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	l := openLogT(t, s, g.keys.Gathering)
	w := bufio.NewWriter(os.Stdout)
	for i := 0; ; i++ {
		e := g.op(t, crdt.Clock{Wall: int64(1_700_000_000_000 + i)}, "crash")
		if _, err := l.Put(context.Background(), []*crdt.Envelope{e}); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(w, "ack %d %s\n", e.Clock.Wall, e.ID())
		w.Flush()
	}
}

// TestKillDuringPuts kills a process with SIGKILL while it writes; every
// operation it acknowledged is in the store when reopened. The store was
// closed cleanly before the child opened it, so an index file is there,
// stale by the child's writes: the reopen must scan, not trust it.
func TestKillDuringPuts(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	g := newTestGathering(t, "crash")
	if _, err := openLogT(t, s, g.keys.Gathering).Put(context.Background(), g.ops(t, 10)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.v=false")
	cmd.Env = append(os.Environ(), crashEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var acked []Item
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "ack ")
		if !ok {
			continue
		}
		var it Item
		var id string
		if _, err := fmt.Sscanf(line, "%d %s", &it.Clock.Wall, &id); err != nil {
			t.Fatal(err)
		}
		if it.ID, err = crdt.ParseOpID(id); err != nil {
			t.Fatal(err)
		}
		acked = append(acked, it)
		if len(acked) == 40 {
			cmd.Process.Signal(syscall.SIGKILL)
		}
	}
	cmd.Wait()
	if len(acked) < 40 {
		t.Fatalf("child acknowledged only %d operations", len(acked))
	}

	s, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	l := openLogT(t, s, g.keys.Gathering)
	if l.saved {
		t.Fatal("trusted the index saved before the killed run")
	}
	for _, it := range acked {
		raws, err := l.Get(context.Background(), []Item{it})
		if len(raws) != 1 || err != nil {
			t.Fatalf("acknowledged op %s missing after SIGKILL (%v)", it.ID, err)
		}
		if e, err := crdt.DecodeEnvelope(raws[0]); err != nil || e.ID() != it.ID {
			t.Fatalf("acknowledged op %s reads back as %v (%v)", it.ID, e, err)
		}
		if !l.Contains(it) {
			t.Fatalf("acknowledged op %s is stored but not in the index", it.ID)
		}
	}
	if l.Len() < 10+len(acked) {
		t.Fatalf("%d items in the index, want at least %d", l.Len(), 10+len(acked))
	}
	t.Logf("%d acknowledged, %d stored", len(acked), l.Len())
}

// TestClosed: after Close, every method that reads or writes the store
// returns ErrClosed (pebble itself panics when used closed).
func TestClosed(t *testing.T) {
	ctx := context.Background()
	g := newTestGathering(t, "closed")
	for name, s := range stores(t) {
		t.Run(name, func(t *testing.T) {
			l := openLogT(t, s, g.keys.Gathering)
			envs := g.ops(t, 2)
			if _, err := l.Put(ctx, envs[:1]); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			it := Item{Clock: envs[0].Clock, ID: envs[0].ID()}
			for _, tc := range []struct {
				name string
				call func() error
			}{
				{"Put", func() error { _, err := l.Put(ctx, envs[1:]); return err }},
				{"Get", func() error { _, err := l.Get(ctx, []Item{it}); return err }},
				{"Iterate", func() error { return l.Iterate(ctx, func(*crdt.Envelope) error { return nil }) }},
				{"Items", func() error { return l.Items(ctx, func(Item) error { return nil }) }},
				{"DiskUsage", func() error { _, err := l.DiskUsage(ctx); return err }},
				{"Gatherings", func() error { _, err := s.Gatherings(ctx); return err }},
				{"Log", func() error { _, err := s.Log(ctx, crdt.GatheringID{9}); return err }},
			} {
				if err := tc.call(); !errors.Is(err, ErrClosed) {
					t.Errorf("%s after Close: %v, want ErrClosed", tc.name, err)
				}
			}
			// The index in memory still answers.
			if !l.Contains(it) || l.Len() != 1 {
				t.Error("the closed log forgot its index")
			}
		})
	}
}

// TestCloseWaitsForCalls: Close lets a call in flight finish on an open
// store, and refuses the calls made after it began.
func TestCloseWaitsForCalls(t *testing.T) {
	ctx := context.Background()
	g := newTestGathering(t, "inflight")
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	l := openLogT(t, s, g.keys.Gathering)
	envs := g.ops(t, 50)
	if _, err := l.Put(ctx, envs); err != nil {
		t.Fatal(err)
	}
	inside, release := make(chan struct{}), make(chan struct{})
	iterated := make(chan error, 1)
	n := 0
	go func() {
		iterated <- l.Iterate(ctx, func(*crdt.Envelope) error {
			if n++; n == 1 {
				close(inside)
				<-release
			}
			return nil
		})
	}()
	<-inside
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	// Wait until Close has begun: from then on, new calls are refused.
	testkit.Eventually(t, 10*time.Second, "Close began", func() (bool, string) {
		_, err := l.Get(ctx, sortedItems(envs[:1]))
		if err != nil && !errors.Is(err, ErrClosed) {
			t.Fatal(err)
		}
		return errors.Is(err, ErrClosed), fmt.Sprint(err)
	})
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while a call was in flight", err)
	default:
	}
	close(release)
	if err := <-iterated; err != nil || n != len(envs) {
		t.Fatalf("the call in flight: %v after %d of %d operations", err, n, len(envs))
	}
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
}
