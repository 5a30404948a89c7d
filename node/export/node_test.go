package export

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"io"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/internal/testkit"
	"github.com/convene/convene/node"
)

// Node-level tests: bundles between real nodes on disk.

func openNode(t *testing.T, dir string) *node.Node {
	t.Helper()
	n, err := node.Open(context.Background(), node.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

func act(t *testing.T, n *node.Node, body crdt.Body) crdt.OpID {
	t.Helper()
	op, err := n.Act(context.Background(), crdt.IdentityID{}, body)
	if err != nil {
		t.Fatalf("%T: %v", body, err)
	}
	return op.ID
}

func nodeBundle(t *testing.T, n *node.Node, since crdt.Clock) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteLogBundle(context.Background(), &buf, n.Log(), since); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func importInto(t *testing.T, n *node.Node, b []byte) node.IngestResult {
	t.Helper()
	res, err := Import(context.Background(), n, bytes.NewReader(b), 0, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func documentJSON(t *testing.T, n *node.Node) []byte {
	t.Helper()
	var x Export
	var err error
	n.View(func(s *crdt.State) {
		x, err = Collect(s, Options{
			Gathering: n.Keys().Gathering, AllSessions: true, Events: true,
			Generated: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := JSON(&buf, x); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func digest(n *node.Node) string { return n.Status().Digest }

// TestBundleParisDakar: two sites that never meet on a network, writing
// offline and exchanging bundles both ways, end with the same operations
// and the same documents.
func TestBundleParisDakar(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	creds, err := node.Init(ctx, filepath.Join(root, "paris"), "Convergence", "amina")
	if err != nil {
		t.Fatal(err)
	}
	if err := node.Join(ctx, filepath.Join(root, "dakar"), creds, "moussa"); err != nil {
		t.Fatal(err)
	}
	paris := openNode(t, filepath.Join(root, "paris"))
	dakar := openNode(t, filepath.Join(root, "dakar"))

	session := act(t, paris, &crdt.SessionBody{Title: "Climate", Cap: 3})
	pg := act(t, paris, &crdt.GroupBody{Name: "Paris"})
	p1 := act(t, paris, &crdt.ProposalBody{Session: session, Group: pg, Text: "Ban private jets"})

	// Paris → Dakar: Dakar then holds everything Paris has and its own
	// identity, which Paris lacks.
	res := importInto(t, dakar, nodeBundle(t, paris, crdt.Clock{}))
	if res.Added != paris.Log().Len() || res.Rejected != 0 {
		t.Fatalf("first import: %+v, Paris holds %d", res, paris.Log().Len())
	}
	if got, want := dakar.Log().Len(), paris.Log().Len()+1; got != want {
		t.Fatalf("Dakar holds %d operations, want %d", got, want)
	}
	// Dakar → Paris, from the point Paris last saw: only the difference.
	var last crdt.Clock
	paris.Log().Iterate(ctx, func(e *crdt.Envelope) error {
		if last.Less(e.Clock) {
			last = e.Clock
		}
		return nil
	})
	importInto(t, paris, nodeBundle(t, dakar, crdt.Clock{}))
	if digest(paris) != digest(dakar) {
		t.Fatal("digests differ after the first exchange")
	}

	// Offline on both sides. Together they exceed the cap.
	p2 := act(t, paris, &crdt.ProposalBody{Session: session, Group: pg, Text: "Trains, not planes"})
	act(t, paris, &crdt.ProposalBody{Session: session, Group: pg, Text: "Free night trains"})
	act(t, paris, &crdt.EndorseBody{Proposal: p2, Group: pg, Revision: p2, Endorse: true})
	dg := act(t, dakar, &crdt.GroupBody{Name: "Dakar"})
	act(t, dakar, &crdt.EndorseBody{Proposal: p1, Group: dg, Revision: p1, Endorse: true})
	act(t, dakar, &crdt.RevisionBody{Proposal: p1, Group: dg, Text: "Ban private jets by 2027", Parents: []crdt.OpID{p1}})
	act(t, dakar, &crdt.ProposalBody{Session: session, Group: dg, Text: "Solar for every school"})
	act(t, dakar, &crdt.EventBody{EventFields: crdt.EventFields{
		Title: "Joint call", Start: "2026-06-01T16:00:00Z", End: "2026-06-01T17:00:00Z",
		Timezone: "Africa/Dakar", Group: &dg, Status: crdt.Confirmed,
	}})
	if digest(paris) == digest(dakar) {
		t.Fatal("offline writes left the digests equal")
	}

	toDakar, toParis := nodeBundle(t, paris, last), nodeBundle(t, dakar, last)
	importInto(t, dakar, toDakar)
	importInto(t, paris, toParis)
	if digest(paris) != digest(dakar) {
		t.Fatal("digests differ after exchanging bundles both ways")
	}
	pj, dj := documentJSON(t, paris), documentJSON(t, dakar)
	if !bytes.Equal(pj, dj) {
		t.Fatalf("documents differ:\nParis %s\nDakar %s", pj, dj)
	}
	var waiting int
	paris.View(func(s *crdt.State) {
		d, _ := s.Document(session)
		waiting = len(d.Waiting)
	})
	if waiting != 1 {
		t.Errorf("%d proposals waiting after the merge, want 1 (cap 3, 4 proposals)", waiting)
	}

	// Importing again changes nothing.
	before := digest(dakar)
	res = importInto(t, dakar, toDakar)
	if res.Added != 0 || digest(dakar) != before {
		t.Errorf("second import: %+v", res)
	}
}

// TestImportRefusesIntoNode: every bad bundle leaves the node as it was.
func TestImportRefusesIntoNode(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	creds, err := node.Init(ctx, filepath.Join(root, "src"), "G", "a")
	if err != nil {
		t.Fatal(err)
	}
	if err := node.Join(ctx, filepath.Join(root, "dst"), creds, "b"); err != nil {
		t.Fatal(err)
	}
	src := openNode(t, filepath.Join(root, "src"))
	dst := openNode(t, filepath.Join(root, "dst"))
	session := act(t, src, &crdt.SessionBody{Title: "S", Cap: 5})
	g := act(t, src, &crdt.GroupBody{Name: "G"})
	act(t, src, &crdt.ProposalBody{Session: session, Group: g, Text: "one"})
	good := nodeBundle(t, src, crdt.Clock{})

	// A foreign node's bundle.
	if _, err := node.Init(ctx, filepath.Join(root, "other"), "Other", "c"); err != nil {
		t.Fatal(err)
	}
	other := openNode(t, filepath.Join(root, "other"))

	// An envelope signed correctly whose payload does not open: a member
	// of no gathering can make one from the gathering id alone.
	var raws [][]byte
	src.Log().Iterate(ctx, func(e *crdt.Envelope) error { raws = append(raws, e.Bytes()); return nil })
	forged := forgeSealed(t, src.Keys().Gathering)
	withForged := append(slices.Clone(raws), forged)

	before := digest(dst)
	bad := map[string][]byte{
		"truncated":       good[:len(good)/2],
		"flipped byte":    flip(good, len(good)/3),
		"foreign":         nodeBundle(t, other, crdt.Clock{}),
		"payload unsound": rewrap(src.Keys().Gathering, crdt.Clock{}, 1, withForged, len(withForged)),
	}
	for name, b := range bad {
		_, err := Import(ctx, dst, bytes.NewReader(b), 0, time.Now())
		if !errors.Is(err, ErrBadBundle) {
			t.Errorf("%s: %v", name, err)
		}
		if digest(dst) != before {
			t.Fatalf("%s: the node changed", name)
		}
	}
	if res := importInto(t, dst, good); res.Added == 0 {
		t.Errorf("good bundle after the bad ones: %+v", res)
	}
}

func flip(b []byte, i int) []byte {
	b = slices.Clone(b)
	b[i] ^= 1
	return b
}

// forgeSealed signs an envelope of g with garbage for a payload.
func forgeSealed(t *testing.T, g crdt.GatheringID) []byte {
	t.Helper()
	// Seal with keys of another secret, then re-point the header at g and
	// re-sign: the signature is good, the seal does not open with g's key.
	otherKeys := testCredentials("forger").Derive()
	s := testkit.Signer("forger")
	env, _, err := otherKeys.Seal(s, crdt.Clock{Wall: time.Now().UnixMilli()}, &crdt.IdentityBody{Name: "x"})
	if err != nil {
		t.Fatal(err)
	}
	b := slices.Clone(env.Bytes())
	copy(b[1:33], g[:])
	body := b[:len(b)-64]
	return append(body, ed25519.Sign(s.Key, body)...)
}

func TestWrite(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "n")
	if _, err := node.Init(ctx, dir, "G", "a"); err != nil {
		t.Fatal(err)
	}
	n := openNode(t, dir)
	session := act(t, n, &crdt.SessionBody{Title: "S", Cap: 5})
	g := act(t, n, &crdt.GroupBody{Name: "G"})
	act(t, n, &crdt.ProposalBody{Session: session, Group: g, Text: "one, \"two\""})
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, f := range []string{FormatJSON, FormatCSV, FormatICS, FormatMarkdown, FormatActivityStreams, FormatBundle} {
		var buf bytes.Buffer
		if err := Write(ctx, &buf, n, Request{Format: f, Session: session, Now: now}); err != nil || buf.Len() == 0 {
			t.Errorf("%s: %d bytes, %v", f, buf.Len(), err)
		}
		if f == FormatBundle {
			if raws, err := ReadBundle(&buf, n.Keys().Gathering, 0); err != nil || len(raws) != n.Log().Len() {
				t.Errorf("bundle: %d operations, %v", len(raws), err)
			}
		}
	}
	if err := Write(ctx, io.Discard, n, Request{Format: "pdf"}); !errors.Is(err, ErrUnknownFormat) {
		t.Errorf("unknown format: %v", err)
	}
	if err := Write(ctx, io.Discard, n, Request{Format: FormatJSON, Session: g}); !errors.Is(err, crdt.ErrNotFound) {
		t.Errorf("unknown session: %v", err)
	}
}
