package store

import (
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"sync"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/internal/testkit"
)

// testGathering is a gathering with one author, derived from seed so that a
// child process can rebuild the same one.
type testGathering struct {
	keys   crdt.Keys
	signer crdt.Signer
}

func newTestGathering(t testing.TB, seed string) testGathering {
	t.Helper()
	s := testkit.Signer(seed + "/author")
	creds := crdt.Credentials{Secret: [32]byte(sum(seed + "/secret")), Founder: s.ID}
	return testGathering{keys: creds.Derive(), signer: s}
}

func sum(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }

// op seals a comment at the given clock.
func (g testGathering) op(t testing.TB, c crdt.Clock, text string) *crdt.Envelope {
	t.Helper()
	e, _, err := g.keys.Seal(g.signer, c, &crdt.CommentBody{Proposal: crdt.OpID{1}, Text: text})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// ops seals n operations with clocks that collide on purpose (several per
// millisecond, and equal clocks), so order by id matters too.
func (g testGathering) ops(t testing.TB, n int) []*crdt.Envelope {
	out := make([]*crdt.Envelope, n)
	for i := range out {
		out[i] = g.op(t, crdt.Clock{Wall: 1_700_000_000_000 + int64(i/3), Logical: uint32(i % 2)}, fmt.Sprintf("op %d", i))
	}
	return out
}

func openLogT(t testing.TB, s *Store, g crdt.GatheringID) *Log {
	t.Helper()
	l, err := s.Log(context.Background(), g)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// stores opens one store of each kind.
func stores(t *testing.T) map[string]*Store {
	t.Helper()
	p, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	m := OpenMemory()
	t.Cleanup(func() { p.Close(); m.Close() })
	return map[string]*Store{"pebble": p, "memory": m}
}

func iterateIDs(t testing.TB, l *Log) []crdt.OpID {
	t.Helper()
	var ids []crdt.OpID
	if err := l.Iterate(context.Background(), func(e *crdt.Envelope) error {
		ids = append(ids, e.ID())
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return ids
}

// records is a slog handler that keeps what it is given.
type records struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (r *records) Enabled(context.Context, slog.Level) bool { return true }
func (r *records) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs = append(r.recs, rec)
	return nil
}
func (r *records) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *records) WithGroup(string) slog.Handler      { return r }

// count is how many records at level or above were kept.
func (r *records) count(level slog.Level) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, rec := range r.recs {
		if rec.Level >= level {
			n++
		}
	}
	return n
}

// failingFS is an in-memory file system whose writes fail while the
// toggle is on.
func failingFS() (vfs.FS, *errorfs.Toggle) {
	toggle := &errorfs.Toggle{Injector: errorfs.InjectorFunc(func(op errorfs.Op) error {
		if op.Kind == errorfs.OpFileWrite || op.Kind == errorfs.OpFileWriteAt || op.Kind == errorfs.OpFileSync {
			return errorfs.ErrInjected
		}
		return nil
	})}
	return errorfs.Wrap(vfs.NewMem(), toggle), toggle
}
