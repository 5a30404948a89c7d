package node

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"

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
	bad := func(what string) (snapshotKey, []byte, error) {
		return snapshotKey{}, nil, fmt.Errorf("%s: %s", snapshotFile, what)
	}
	if !bytes.HasPrefix(b, snapshotMagic[:]) || len(b) < len(snapshotMagic)+1+8 {
		return bad("not a state snapshot")
	}
	all := b
	b = b[len(snapshotMagic):]
	if b[0] != snapshotVersion {
		return bad(fmt.Sprintf("unknown version %d", b[0]))
	}
	var key snapshotKey
	ops := binary.BigEndian.Uint64(b[1:9])
	b = b[9:]
	n, w, err := varint.Uvarint(b, 1024)
	if err != nil || uint64(len(b)-w) < n+4 || ops > 1<<40 {
		return bad("damaged header")
	}
	key.ops = int(ops)
	key.digest = string(b[w : w+int(n)])
	b = b[w+int(n):]
	sum := binary.BigEndian.Uint32(b[:4])
	head := all[:len(all)-len(b)]
	body := b[4:]
	if crc32.Update(crc32.Checksum(head, castagnoli), castagnoli, body) != sum {
		return bad("checksum mismatch")
	}
	return key, body, nil
}
