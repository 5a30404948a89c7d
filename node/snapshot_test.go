package node

import (
	"bytes"
	"testing"

	"github.com/convene/convene/crdt"
)

// TestDecodeAndFile: a snapshot read in chunks, decoded on one goroutine
// and filed on another, gives the state crdt.ReadSnapshot gives, whatever
// the chunk size; a damaged snapshot is refused either way.
func TestDecodeAndFile(t *testing.T) {
	n, _ := initNode(t, true)
	_, _, proposal := workshop(t, n)
	for i := range 20 {
		act(t, n, &crdt.CommentBody{Proposal: proposal, Text: string(rune('a' + i))})
	}
	var snap []byte
	n.View(func(s *crdt.State) { snap = s.Snapshot() })
	want, err := crdt.LoadSnapshot(n.creds.Founder, snap)
	if err != nil {
		t.Fatal(err)
	}
	for _, chunk := range []int{1, 3, 7, 1 << 14} {
		got, err := decodeAndFile(n.creds.Founder, bytes.NewReader(snap), int64(len(snap)), chunk)
		if err != nil {
			t.Fatalf("chunks of %d: %v", chunk, err)
		}
		if !bytes.Equal(got.Snapshot(), want.Snapshot()) || got.Len() != want.Len() {
			t.Fatalf("chunks of %d: a different state", chunk)
		}
		if s, ok := got.Document(got.Sessions()[0].ID); !ok || len(s.Proposals) == 0 {
			t.Fatalf("chunks of %d: no document", chunk)
		}
		damaged := bytes.Clone(snap)
		damaged[len(damaged)/2] ^= 0xff
		cut := snap[:len(snap)-5]
		for _, bad := range [][]byte{damaged, cut} {
			if _, err := decodeAndFile(n.creds.Founder, bytes.NewReader(bad), int64(len(bad)), chunk); err == nil {
				if _, err2 := crdt.LoadSnapshot(n.creds.Founder, bad); err2 != nil {
					t.Fatalf("chunks of %d: loaded what ReadSnapshot refuses (%v)", chunk, err2)
				}
			}
		}
	}
}
