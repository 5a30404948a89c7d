package testnet

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/internal/testkit"
	"github.com/convene/convene/node"
)

// testTimeout bounds each wait of a test: generous, since a slow machine
// must not fail a test that only checks an outcome.
const testTimeout = 45 * time.Second

// newNet starts a Net that the test closes.
func newNet(t testing.TB, opts Options) *Net {
	t.Helper()
	opts.Dir = t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	n, err := New(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := n.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return n
}

func testContext(t testing.TB) context.Context {
	return testkit.Context(t, testTimeout)
}

func write(t testing.TB, n *Net, i int, body crdt.Body) crdt.OpID {
	t.Helper()
	op, err := n.Write(context.Background(), i, body)
	if err != nil {
		t.Fatalf("write %T: %v", body, err)
	}
	return op.ID
}

func waitConverged(t testing.TB, n *Net, nodes ...int) {
	t.Helper()
	if err := n.WaitConverged(testContext(t), nodes...); err != nil {
		t.Fatal(err)
	}
}

// eventually polls cond until it holds, failing the test after testTimeout.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	testkit.Eventually(t, testTimeout, what, func() (bool, string) { return cond(), "" })
}

// has reports whether node i has applied operation id.
func has(n *Net, i int, id crdt.OpID) bool {
	var ok bool
	n.Node(i).View(func(s *crdt.State) { ok = s.Has(id) })
	return ok
}

// document is the JSON of a session's document on node i.
func document(t testing.TB, n *Net, i int, session crdt.OpID) (crdt.Document, []byte) {
	t.Helper()
	var d crdt.Document
	var ok bool
	n.Node(i).View(func(s *crdt.State) { d, ok = s.Document(session) })
	if !ok {
		t.Fatalf("node %d has no document for session %s", i, session)
	}
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return d, b
}

// sameDocuments checks that every node shows the session byte for byte
// alike, and returns node 0's document.
func sameDocuments(t testing.TB, n *Net, session crdt.OpID) crdt.Document {
	t.Helper()
	d0, b0 := document(t, n, 0, session)
	for i := 1; i < n.Len(); i++ {
		if _, b := document(t, n, i, session); !bytes.Equal(b, b0) {
			t.Errorf("node %d shows another document:\n%s\nnode 0:\n%s", i, b, b0)
		}
	}
	return d0
}

func rawOp(t testing.TB, n *Net, i int, id crdt.OpID) []byte {
	t.Helper()
	b, ok, err := n.Node(i).Stored(context.Background(), id)
	if err != nil || !ok {
		t.Fatalf("node %d: operation %s: ok=%v err=%v", i, id, ok, err)
	}
	return b
}

// Forgeries of a valid operation raw, as an attacker without the
// gathering's secret or its members' keys could make them.

// badSignature flips a bit of the signature.
func badSignature(raw []byte) []byte {
	b := bytes.Clone(raw)
	b[len(b)-1] ^= 1
	return b
}

// resealed tampers with the sealed payload and signs the result with the
// attacker's own key, so the signature is valid and the seal is not.
func resealed(t testing.TB, raw []byte) []byte {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	const sigSize = ed25519.SignatureSize
	b := bytes.Clone(raw[:len(raw)-sigSize])
	copy(b[33:65], pub) // the author (see crdt's envelope encoding)
	b[len(b)-1] ^= 1    // the last byte of the sealed payload
	b = append(b, ed25519.Sign(priv, b)...)
	if _, err := crdt.DecodeEnvelope(b); err != nil {
		t.Fatalf("the forgery does not even decode: %v", err)
	}
	return b
}

// foreignOp is a valid operation of another gathering.
func foreignOp(t testing.TB) []byte {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	if _, err := node.Init(ctx, dir, "Another Gathering", "stranger"); err != nil {
		t.Fatal(err)
	}
	nd, err := node.Open(ctx, node.Config{Dir: dir, Memory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer nd.Close()
	op, err := nd.Act(ctx, crdt.IdentityID{}, &crdt.GroupBody{Name: "Infiltrators"})
	if err != nil {
		t.Fatal(err)
	}
	b, ok, err := nd.Stored(ctx, op.ID)
	if err != nil || !ok {
		t.Fatalf("foreign op: ok=%v err=%v", ok, err)
	}
	return b
}

// attacker is a bare libp2p host with GossipSub, outside the gathering.
type attacker struct {
	h     host.Host
	topic *pubsub.Topic
}

func newAttacker(t testing.TB, g crdt.GatheringID) *attacker {
	t.Helper()
	h, topic := testkit.GossipPeer(t, g.Topic())
	return &attacker{h: h, topic: topic}
}

// connect dials every node and waits until each is on the attacker's topic.
func (a *attacker) connect(t testing.TB, n *Net) {
	t.Helper()
	want := map[peer.ID]bool{}
	for i := range n.Len() {
		ai, err := peer.AddrInfoFromP2pAddr(n.Addr(i))
		if err != nil {
			t.Fatal(err)
		}
		if err := a.h.Connect(testContext(t), *ai); err != nil {
			t.Fatal(err)
		}
		want[ai.ID] = true
	}
	eventually(t, "the nodes on the attacker's topic", func() bool {
		n := 0
		for _, p := range a.topic.ListPeers() {
			if want[p] {
				n++
			}
		}
		return n == len(want)
	})
}

// publish gossips a raw message on the gathering's topic.
func (a *attacker) publish(t testing.TB, msg []byte) {
	t.Helper()
	if err := a.topic.Publish(testContext(t), msg); err != nil {
		t.Fatal(err)
	}
}

// push offers operations to node i over the reconciliation protocol, as a
// push frame.
func (a *attacker) push(t testing.TB, n *Net, i int, raws ...[]byte) {
	t.Helper()
	ctx := testContext(t)
	id, err := peer.AddrInfoFromP2pAddr(n.Addr(i))
	if err != nil {
		t.Fatal(err)
	}
	s, err := a.h.NewStream(ctx, id.ID, protocol.ID("/convene/recon/4"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	g := n.Node(0).Gathering()
	msg := testkit.Batch(raws...)
	frame := append(g[:], 'P')
	frame = binary.AppendUvarint(frame, uint64(len(msg)))
	frame = append(frame, msg...)
	if _, err := s.Write(frame); err != nil {
		t.Fatal(err)
	}
	// The node reads the frame before it sees the end of the stream; the
	// test waits for its Rejected count to move.
}
