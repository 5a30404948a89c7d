// Package store is the durable operation log of convene nodes and hubs.
//
// One Store (a go-datastore, pebble on disk or a map in memory) serves any
// number of gatherings; each gathering's operations live in a Log under
// their own key prefix:
//
//	/g/<gathering hex>/o/<hex of wall(8 BE)|logical(4 BE)|id(32)>  envelope bytes
//
// so that the datastore's key order is the (clock, id) order that set
// reconciliation ranges over; an operation is read by its clock and id
// (the node's state knows the clock of each). /x/recon/<gathering hex>
// marks the log's index file saved at Close as current; /x/recon-base/…
// and /x/recon-journal/…/<seq> let a start after kill -9 read that file
// plus what was written since (index.go). Writes
// are synced before Put returns: an operation a node acknowledged survives
// a crash or power loss.
//
// Stores written before 2026-12 also hold /g/<gathering hex>/i/<id hex> →
// wall|logical, an index by id that nothing reads any more; they are left
// in place (docs/DECISIONS.md), and the prefix is not to be reused.
package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	ds "github.com/ipfs/go-datastore"
	dssync "github.com/ipfs/go-datastore/sync"
	pebbleds "github.com/ipfs/go-ds-pebble"

	"github.com/convene/convene/crdt"
)

// Store holds the logs of one or more gatherings.
type Store struct {
	ds ds.Batching
	// db is the pebble database under ds, if any. Scans use it directly:
	// go-datastore queries hand over every entry through a channel, which
	// would dominate start-up with a million operations.
	db  *pebble.DB
	fs  vfs.FS // the file system under db, for free-space checks
	dir string
	// realFS: fs is the operating system's, so the indexes of the logs
	// are saved beside pebble's files at Close (index.go).
	realFS bool
	log    *slog.Logger

	// failed is set once pebble reported a fatal write error; from then on
	// every write is refused (reads go on) until the store is reopened.
	failed atomic.Pointer[error]

	mu     sync.Mutex
	logs   map[crdt.GatheringID]*Log
	closed bool
	// inflight counts the calls that may reach the datastore; Close waits
	// for them, so none finds pebble closed under it (which panics).
	inflight sync.WaitGroup
}

// Option configures Open.
type Option func(*options)

type options struct {
	log *slog.Logger
	fs  vfs.FS // nil: the real file system
}

// WithLogger sends pebble's log to l (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// withFS replaces the real file system; tests simulate crashes and full
// disks with it.
func withFS(fs vfs.FS) Option { return func(o *options) { o.fs = fs } }

// Open opens (creating if needed) the pebble store in dir.
func Open(dir string, opts ...Option) (*Store, error) {
	var o options
	for _, f := range opts {
		f(&o)
	}
	if o.log == nil {
		o.log = slog.Default()
	}
	fs := o.fs
	if fs == nil {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		fs = vfs.Default
	}
	popts := &pebble.Options{FS: fs, Logger: pebbleLogger{o.log.With("pkg", "pebble")}}
	// pebbleds defaults to pebble.NoSync for Put and for batches; with
	// pebble.Sync every batch commit waits for the WAL fsync (see
	// pebbleds.Batch.Commit, which passes these options to
	// pebble.Batch.Commit).
	d, err := pebbleds.NewDatastore(dir,
		pebbleds.WithPebbleOpts(popts),
		pebbleds.WithPebbleWriteOptions(pebble.Sync))
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", dir, err)
	}
	return &Store{ds: d, db: d.DB, fs: fs, dir: dir, realFS: o.fs == nil, log: o.log, logs: make(map[crdt.GatheringID]*Log)}, nil
}

// Errors of writing.
var (
	// ErrDiskFull: too little free space is left to write safely. Nothing
	// was written.
	ErrDiskFull = errors.New("disk full")
	// ErrFailed: the disk failed a write; the store refuses writes until
	// it is reopened. Nothing of the failed write was acknowledged.
	ErrFailed = errors.New("store failed")
)

// minFree is the free space below which writes are refused: pebble needs
// room to flush and compact, and running out in the middle of a commit is
// fatal to it.
const minFree = 32 << 20

// writable reports whether a write of about n bytes may go ahead.
func (s *Store) writable(n int) error {
	if p := s.failed.Load(); p != nil {
		return fmt.Errorf("%w: %w", ErrFailed, *p)
	}
	if s.fs == nil {
		return nil
	}
	u, err := s.fs.GetDiskUsage(s.dir)
	if err != nil {
		return nil // not known here; pebble will report a real failure
	}
	if u.AvailBytes < minFree+2*uint64(n) {
		return fmt.Errorf("%w: %d bytes free in %s", ErrDiskFull, u.AvailBytes, s.dir)
	}
	return nil
}

// commit commits b. Pebble treats a failed WAL write as fatal (its commit
// pipeline cannot go on); pebbleLogger turns that into a panic, which is
// caught here and becomes ErrFailed.
func (s *Store) commit(ctx context.Context, b ds.Batch) (err error) {
	defer func() {
		if r := recover(); r != nil {
			f, ok := r.(fatalError)
			if !ok {
				panic(r)
			}
			var e error = f
			s.failed.CompareAndSwap(nil, &e)
			err = fmt.Errorf("%w: %w", ErrFailed, f)
		}
	}()
	return b.Commit(ctx)
}

// fatalError is what pebble reported as fatal.
type fatalError string

func (f fatalError) Error() string { return string(f) }

// pebbleLogger sends pebble's log to slog. Pebble's informational lines
// (flushes, compactions) go to debug.
type pebbleLogger struct{ log *slog.Logger }

func (l pebbleLogger) Infof(format string, args ...any) { l.log.Debug(fmt.Sprintf(format, args...)) }
func (l pebbleLogger) Errorf(format string, args ...any) {
	l.log.Warn(fmt.Sprintf(format, args...))
}
func (l pebbleLogger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	l.log.Error(msg)
	panic(fatalError(msg))
}

// OpenMemory returns a store that keeps everything in memory (tests).
func OpenMemory() *Store {
	return &Store{
		ds:   dssync.MutexWrap(ds.NewMapDatastore()),
		logs: make(map[crdt.GatheringID]*Log),
	}
}

// ErrClosed is returned after Close.
var ErrClosed = errors.New("store is closed")

// enter admits a call that uses the datastore, unless the store is
// closed; the caller must call s.inflight.Done when it is through.
func (s *Store) enter() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("store: %w", ErrClosed)
	}
	s.inflight.Add(1)
	return nil
}

// Log returns the log of gathering g, loading its index on first use.
func (s *Store) Log(ctx context.Context, g crdt.GatheringID) (*Log, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	if l, ok := s.logs[g]; ok {
		return l, nil
	}
	l, err := openLog(ctx, s, g)
	if err != nil {
		return nil, err
	}
	s.logs[g] = l
	return l, nil
}

// Gatherings lists the gatherings that have at least one stored operation.
func (s *Store) Gatherings(ctx context.Context) ([]crdt.GatheringID, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.inflight.Done()
	var out []crdt.GatheringID
	// Gathering prefixes are fixed-length, so after each one found the scan
	// seeks past all of its keys.
	from := []byte("/g/")
	for {
		k, ok, err := s.firstKey(ctx, from, []byte("/g0"))
		if err != nil || !ok {
			return out, err
		}
		const hexLen = 64
		if len(k) < 3+hexLen {
			return out, fmt.Errorf("store: malformed key %q", k)
		}
		g, err := crdt.ParseGatheringID(string(k[3 : 3+hexLen]))
		if err != nil {
			return out, fmt.Errorf("store: malformed key %q: %w", k, err)
		}
		out = append(out, g)
		from = append([]byte("/g/"+g.String()), '0') // '/' + 1
	}
}

// DiskUsage is the size of the store on disk in bytes (0 in memory).
func (s *Store) DiskUsage(ctx context.Context) (int64, error) {
	if err := s.enter(); err != nil {
		return 0, err
	}
	defer s.inflight.Done()
	n, err := ds.DiskUsage(ctx, s.ds)
	if err != nil {
		return 0, fmt.Errorf("store: disk usage: %w", err)
	}
	return int64(n), nil
}

// Close closes the store, once the calls in flight have returned; from
// then on the logs obtained from it return ErrClosed. After ErrFailed,
// Close releases nothing and the process should exit.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.inflight.Wait()
	if p := s.failed.Load(); p != nil {
		// Closing flushes, and pebble cannot flush past a failed WAL
		// write: leave the files as they are (the WAL holds everything
		// acknowledged) and let the process exit.
		return fmt.Errorf("store: %w: %w", ErrFailed, *p)
	}
	s.saveIndexes(context.Background())
	if err := s.ds.Close(); err != nil {
		return fmt.Errorf("store: close: %w", err)
	}
	return nil
}
