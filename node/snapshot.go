package node

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/internal/atomicfile"
	"github.com/convene/convene/internal/varint"
)

// snapshotFile holds the state snapshot, next to the store rather than in
// it: as a pebble value it was copied and decompressed block by block at
// every start, and rewriting it at every Close set off compactions during
// the next start.
const snapshotFile = "state.snap"

// State snapshot file, version 1 (integers big-endian):
//
//	magic    8 bytes "cvnstate"
//	version  1 byte  (1)
//	ops      8 bytes, the log's Len when the snapshot was taken
//	digest   uvarint length, then the log's Digest then
//	crc      4 bytes, CRC-32C of what comes before it and of the body
//	body     crdt.State.Snapshot's encoding
//
// The log's count and digest key the snapshot to the log: when they match
// at the next start, the state needs nothing replayed.
var snapshotMagic = [8]byte{'c', 'v', 'n', 's', 't', 'a', 't', 'e'}

const snapshotVersion = 1

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// snapshotKey is the log a snapshot was taken of.
type snapshotKey struct {
	ops    int
	digest string
}

// writeSnapshot replaces dir's snapshot file with body, taken of the log
// that key describes.
func writeSnapshot(dir string, key snapshotKey, body []byte) error {
	h := append([]byte(nil), snapshotMagic[:]...)
	h = append(h, snapshotVersion)
	h = binary.BigEndian.AppendUint64(h, uint64(key.ops))
	h = binary.AppendUvarint(h, uint64(len(key.digest)))
	h = append(h, key.digest...)
	sum := crc32.Update(crc32.Checksum(h, castagnoli), castagnoli, body)
	h = binary.BigEndian.AppendUint32(h, sum)
	if err := atomicfile.WriteFile(filepath.Join(dir, snapshotFile), 0o600, h, body); err != nil {
		return fmt.Errorf("write the state snapshot: %w", err)
	}
	return nil
}

// takenSnapshot is the state's snapshot, the log it was taken of and how
// many unsaved operations it saves.
type takenSnapshot struct {
	key   snapshotKey
	body  []byte
	saves int
}

// takeSnapshot encodes the state's snapshot, if it holds operations the
// stored one lacks. Callers hold writeMu: under it the log holds what the
// state holds (and any operations that do not open), so the log's count
// and digest key the snapshot.
func (n *Node) takeSnapshot() (takenSnapshot, bool) {
	if n.memory {
		return takenSnapshot{}, false
	}
	n.mu.RLock()
	defer n.mu.RUnlock()
	if n.unsaved == 0 {
		return takenSnapshot{}, false
	}
	return takenSnapshot{
		key:  snapshotKey{ops: n.oplog.Len(), digest: n.oplog.Digest()},
		body: n.state.Snapshot(), saves: n.unsaved,
	}, true
}

// putSnapshot writes a taken snapshot; the operations it saves no longer
// count as unsaved. Callers hold saveMu (not necessarily writeMu: writes
// may go on meanwhile, and count as unsaved).
func (n *Node) putSnapshot(ts takenSnapshot) error {
	if err := writeSnapshot(n.dir, ts.key, ts.body); err != nil {
		return err
	}
	n.mu.Lock()
	n.unsaved -= ts.saves
	n.mu.Unlock()
	return nil
}

// A start that rebuilt the state from the log (no snapshot, a damaged
// one, one of another log, or a long replay after kill -9) saves the state
// soon instead of at Close: at a million operations the rebuild takes
// seconds where loading a snapshot takes one, and a laptop that is killed
// again (its battery, a crash) would rebuild again. Not at once, so that
// the start and its first requests do not share the cores with it; the
// save holds writes back while it encodes (well under a second at a
// million operations), not while it writes the file, once.
const rebuiltSaveAfter = 10 * time.Second

// rebuiltReplay is the replay, after a snapshot, from which a start counts
// as a rebuild.
const rebuiltReplay = 50_000

func (n *Node) saveRebuiltSoon(after time.Duration) {
	if !n.rebuilt || n.memory {
		return
	}
	if after <= 0 {
		after = rebuiltSaveAfter
	}
	n.saveTimer = time.AfterFunc(after, func() {
		n.saveMu.Lock()
		defer n.saveMu.Unlock()
		n.writeMu.Lock()
		if n.closed {
			n.writeMu.Unlock()
			return
		}
		ts, ok := n.takeSnapshot()
		n.writeMu.Unlock()
		if !ok {
			return
		}
		if err := n.putSnapshot(ts); err != nil {
			n.log.Warn("could not save the rebuilt state's snapshot", "err", err)
			return
		}
		n.log.Debug("saved the rebuilt state's snapshot")
	})
}

// errNoSnapshot: the data directory holds no snapshot file.
var errNoSnapshot = errors.New("no state snapshot")

// readSnapshot reads dir's snapshot file: the key of the log it was taken
// of and the body, checked against its checksum.
func readSnapshot(dir string) (snapshotKey, []byte, error) {
	b, err := os.ReadFile(filepath.Join(dir, snapshotFile))
	if errors.Is(err, fs.ErrNotExist) {
		return snapshotKey{}, nil, errNoSnapshot
	}
	if err != nil {
		return snapshotKey{}, nil, err
	}
	key, head, sum, err := snapshotHeader(b)
	if err != nil {
		return snapshotKey{}, nil, err
	}
	body := b[head:]
	if crc32.Update(crc32.Checksum(b[:head-4], castagnoli), castagnoli, body) != sum {
		return snapshotKey{}, nil, fmt.Errorf("%s: checksum mismatch", snapshotFile)
	}
	return key, body, nil
}

// maxSnapshotHeader bounds the header: magic, version, count, a digest of
// at most 1024 bytes with its length, checksum.
const maxSnapshotHeader = 8 + 1 + 8 + 2 + 1024 + 4

// snapshotHeader parses the header at the start of b (which holds at
// least the whole header, or the whole file): the key, the header's
// length (the checksum included) and the checksum.
func snapshotHeader(b []byte) (key snapshotKey, head int, sum uint32, err error) {
	bad := func(what string) (snapshotKey, int, uint32, error) {
		return snapshotKey{}, 0, 0, fmt.Errorf("%s: %s", snapshotFile, what)
	}
	if !bytes.HasPrefix(b, snapshotMagic[:]) || len(b) < len(snapshotMagic)+1+8 {
		return bad("not a state snapshot")
	}
	all := b
	b = b[len(snapshotMagic):]
	if b[0] != snapshotVersion {
		return bad(fmt.Sprintf("unknown version %d", b[0]))
	}
	ops := binary.BigEndian.Uint64(b[1:9])
	b = b[9:]
	n, w, verr := varint.Uvarint(b, 1024)
	if verr != nil || uint64(len(b)-w) < n+4 || ops > 1<<40 {
		return bad("damaged header")
	}
	key.ops = int(ops)
	key.digest = string(b[w : w+int(n)])
	b = b[w+int(n):]
	return key, len(all) - len(b) + 4, binary.BigEndian.Uint32(b[:4]), nil
}

// loadSnapshot rebuilds the state from dir's snapshot file, streaming it
// (crdt.ReadSnapshot): the file is never held whole next to the state. Its
// checksum is known only at the end, so a damaged file gives an error
// after the work, never a state.
func loadSnapshot(dir string, founder crdt.IdentityID) (snapshotKey, *crdt.State, error) {
	f, err := os.Open(filepath.Join(dir, snapshotFile))
	if errors.Is(err, fs.ErrNotExist) {
		return snapshotKey{}, nil, errNoSnapshot
	}
	if err != nil {
		return snapshotKey{}, nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return snapshotKey{}, nil, err
	}
	first := make([]byte, min(fi.Size(), maxSnapshotHeader))
	if _, err := io.ReadFull(f, first); err != nil {
		return snapshotKey{}, nil, fmt.Errorf("%s: %w", snapshotFile, err)
	}
	key, head, sum, err := snapshotHeader(first)
	if err != nil {
		return snapshotKey{}, nil, err
	}
	crc := crc32.New(castagnoli)
	crc.Write(first[:head-4])
	body := io.TeeReader(io.MultiReader(bytes.NewReader(first[head:]), bufio.NewReaderSize(f, 1<<16)), crc)
	st, err := decodeAndFile(founder, body, fi.Size()-int64(head), snapshotChunk)
	if err != nil {
		return snapshotKey{}, nil, fmt.Errorf("%s: %w", snapshotFile, err)
	}
	if crc.Sum32() != sum {
		return snapshotKey{}, nil, fmt.Errorf("%s: checksum mismatch", snapshotFile)
	}
	return key, st, nil
}

// snapshotChunk is how many operations decodeAndFile decodes before handing
// them on to be filed.
const snapshotChunk = 1 << 14

// decodeAndFile is crdt.ReadSnapshot with its two halves on two cores: this
// goroutine decodes the file a chunk at a time while another files what
// is decoded into the state (each is about half of a large snapshot's
// load, and they share nothing but the chunks handed on).
func decodeAndFile(founder crdt.IdentityID, src io.Reader, size int64, chunk int) (*crdt.State, error) {
	l, err := crdt.NewSnapshotLoader(founder, src, size)
	if err != nil {
		return nil, err
	}
	decoded := make(chan int, 4)
	filed := make(chan struct{})
	go func() {
		defer close(filed)
		for upTo := range decoded {
			l.File(upTo)
		}
	}()
	for upTo := min(chunk, l.Len()); err == nil; upTo = min(upTo+chunk, l.Len()) {
		if err = l.Decode(upTo); err == nil {
			decoded <- upTo
		}
		if upTo == l.Len() {
			break
		}
	}
	close(decoded)
	<-filed
	if err != nil {
		return nil, err
	}
	return l.Finish()
}
