package crdt

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
)

// Snapshot encoding, version 1: the magic, a uvarint count, then each
// operation in (clock, id) order as
//
//	id 32 bytes, author 32 bytes, wall 8 bytes, logical 4 bytes,
//	uvarint length, payload (version, kind, canonical JSON body)
//
// A snapshot holds opened operations, so loading it skips the signature
// checks and the unsealing that dominate rebuilding from the envelopes. It is
// only as trustworthy as the disk it was written to; the operation log stays
// the source of truth.
var snapshotMagic = [8]byte{'c', 'v', 'n', 's', 'n', 'a', 'p', 1}

// Snapshot encodes every operation applied, so that LoadSnapshot rebuilds an
// identical state.
func (s *State) Snapshot() []byte {
	s.mu.Lock()
	ops := make([]*Op, 0, len(s.ops))
	for _, o := range s.ops {
		ops = append(ops, o)
	}
	s.mu.Unlock()
	slices.SortFunc(ops, opCompare)
	b := append([]byte(nil), snapshotMagic[:]...)
	b = binary.AppendUvarint(b, uint64(len(ops)))
	for _, o := range ops {
		js, err := json.Marshal(o.Body)
		if err != nil {
			panic(fmt.Sprintf("crdt: body of %s does not encode: %v", o.ID, err)) // bodies are plain data
		}
		b = append(b, o.ID[:]...)
		b = append(b, o.Author[:]...)
		b = binary.BigEndian.AppendUint64(b, uint64(o.Clock.Wall))
		b = binary.BigEndian.AppendUint32(b, o.Clock.Logical)
		b = binary.AppendUvarint(b, uint64(len(js)+2))
		b = append(b, payloadVersion, byte(o.Body.Kind()))
		b = append(b, js...)
	}
	return b
}

// LoadSnapshot rebuilds a state from Snapshot's encoding. A damaged
// snapshot gives an error, never a partial state.
func LoadSnapshot(founder IdentityID, b []byte) (*State, error) {
	if !bytes.HasPrefix(b, snapshotMagic[:]) {
		return nil, fmt.Errorf("%w: not a state snapshot", ErrMalformed)
	}
	b = b[len(snapshotMagic):]
	n, w := binary.Uvarint(b)
	if w <= 0 || n > uint64(len(b)) {
		return nil, fmt.Errorf("%w: snapshot count", ErrMalformed)
	}
	b = b[w:]
	s := NewState(founder)
	for i := range n {
		if len(b) < 32+32+12 {
			return nil, fmt.Errorf("%w: snapshot truncated at operation %d", ErrMalformed, i)
		}
		var op Op
		copy(op.ID[:], b[:32])
		copy(op.Author[:], b[32:64])
		op.Clock.Wall = int64(binary.BigEndian.Uint64(b[64:72]))
		op.Clock.Logical = binary.BigEndian.Uint32(b[72:76])
		b = b[76:]
		l, w := binary.Uvarint(b)
		if w <= 0 || l > uint64(len(b)-w) || op.Clock.Wall < 0 {
			return nil, fmt.Errorf("%w: snapshot operation %d", ErrMalformed, i)
		}
		body, err := decodePayload(b[w : w+int(l)])
		if err != nil {
			return nil, fmt.Errorf("snapshot operation %d: %w", i, err)
		}
		b = b[w+int(l):]
		op.Body = body
		if !s.Apply(op) {
			return nil, fmt.Errorf("%w: snapshot repeats operation %s", ErrMalformed, op.ID)
		}
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the snapshot", ErrMalformed, len(b))
	}
	return s, nil
}
