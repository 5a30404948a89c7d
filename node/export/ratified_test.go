package export

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/node"
)

// citySession makes a gathering named city on disk, with a session of
// two proposals, one endorsed by a second group, and ratifies it.
func citySession(t *testing.T, dir, city string) (*node.Node, crdt.OpID) {
	t.Helper()
	ctx := context.Background()
	if _, err := node.Init(ctx, dir, city, "facilitator of "+city); err != nil {
		t.Fatal(err)
	}
	n := openNode(t, dir)
	s := act(t, n, &crdt.SessionBody{Title: "Declaration of " + city, Cap: 5})
	g1 := act(t, n, &crdt.GroupBody{Name: city + " north"})
	g2 := act(t, n, &crdt.GroupBody{Name: city + " south"})
	p1 := act(t, n, &crdt.ProposalBody{Session: s, Group: g1, Text: "Open data in " + city + ",\nfor everyone <always> & \"now\""})
	act(t, n, &crdt.ProposalBody{Session: s, Group: g2, Text: "Repair cafés in " + city})
	act(t, n, &crdt.EndorseBody{Proposal: p1, Group: g2, Revision: p1, Endorse: true})
	if _, err := n.Ratify(ctx, nil, s); err != nil {
		t.Fatal(err)
	}
	return n, s
}

func ratifiedBytes(t *testing.T, n *node.Node, s crdt.OpID) []byte {
	t.Helper()
	var buf bytes.Buffer
	err := Write(context.Background(), &buf, n, Request{Format: FormatRatified, Session: s, Now: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestRatifiedFile(t *testing.T) {
	root := t.TempDir()
	paris, s := citySession(t, filepath.Join(root, "paris"), "Paris")
	file := ratifiedBytes(t, paris, s)
	if os.Getenv("CONVENE_WRITE_RATIFIED") != "" {
		os.WriteFile(os.Getenv("CONVENE_WRITE_RATIFIED"), file, 0o644)
	}
	f, body, err := ReadRatified(file)
	if err != nil {
		t.Fatalf("intact file refused: %v", err)
	}
	if len(f.Document.Proposals) != 2 || f.Gathering.Name != "Paris" || body.Digest != f.Ratification.Digest {
		t.Fatalf("read %+v", f)
	}
	// Later edits do not change the ratified document.
	p1 := f.Document.Proposals[0]
	act(t, paris, &crdt.RevisionBody{Proposal: p1.ID, Group: p1.Group.ID, Text: "changed later", Parents: []crdt.OpID{p1.Revision}})
	if again := ratifiedBytes(t, paris, s); !bytes.Equal(again, file) {
		t.Error("an edit after the ratification changed the ratified file")
	}

	refused := func(name string, b []byte, code string) {
		t.Helper()
		_, _, err := ReadRatified(b)
		var ve *VerifyError
		if !errors.As(err, &ve) || ve.Code != code {
			t.Errorf("%s: %v, want %s", name, err, code)
		}
	}
	// The printed text alone edited.
	i := bytes.Index(file, []byte("Repair cafés"))
	refused("printed text", append(append(bytes.Clone(file[:i]), "Repair bars!"...), file[i+len("Repair cafés"):]...), ReasonTampered)
	// Both the printed text and the signed part's text edited.
	refused("both texts", bytes.ReplaceAll(file, []byte("Repair caf"), []byte("Repair baf")), ReasonTampered)
	refused("truncated", file[:len(file)-200], ReasonTruncated)
	refused("truncated in the page", file[:len(file)/2], ReasonTruncated)
	refused("not a file", []byte("hello"), ReasonMalformed)
	// The signature: swap one base64 character of the envelope.
	f2 := f
	f2.Envelope = bytes.Clone(f.Envelope)
	f2.Envelope[len(f2.Envelope)-3] ^= 0x10
	b2, err := RenderRatified(f2)
	if err != nil {
		t.Fatal(err)
	}
	refused("signature", b2, ReasonSignature)

	// Merging into another gathering: verified, provenance, once.
	world, ws := citySession(t, filepath.Join(root, "world"), "World")
	ids, skipped, _, err := ImportRatified(context.Background(), world, nil, ws, nil, nil, file)
	if err != nil || len(ids) != 2 || len(skipped) != 0 {
		t.Fatalf("import: %v %v %v", ids, skipped, err)
	}
	ids, skipped, _, err = ImportRatified(context.Background(), world, nil, ws, nil, nil, file)
	if err != nil || len(ids) != 0 || len(skipped) != 2 {
		t.Fatalf("second import: %v %v %v", ids, skipped, err)
	}
	var doc crdt.Document
	world.View(func(st *crdt.State) { doc, _ = st.Document(ws) })
	n := 0
	for _, p := range doc.Proposals {
		if p.From != nil {
			n++
			if p.From.Gathering != paris.Gathering() || p.From.Session != s || p.From.Digest != f.Ratification.Digest {
				t.Errorf("provenance %+v", p.From)
			}
		}
	}
	if n != 2 {
		t.Errorf("%d imported proposals in the document, want 2", n)
	}
	// Every export says where the imported proposals came from, and that
	// the source was ratified.
	for _, format := range []string{FormatJSON, FormatMarkdown, FormatCSV} {
		var buf bytes.Buffer
		if err := Write(context.Background(), &buf, world, Request{Format: format, Session: ws, Now: time.Now()}); err != nil {
			t.Fatal(err)
		}
		short := f.Ratification.Digest.String()
		if format == FormatMarkdown {
			short = short[:12]
		}
		if !bytes.Contains(buf.Bytes(), []byte(short)) || !bytes.Contains(buf.Bytes(), []byte(paris.Gathering().String()[:12])) {
			t.Errorf("the %s export does not name the source", format)
		}
	}
	var buf bytes.Buffer
	if err := Write(context.Background(), &buf, paris, Request{Format: FormatJSON, Session: s, Now: time.Now()}); err != nil ||
		!bytes.Contains(buf.Bytes(), []byte(`"ratification": {`)) {
		t.Errorf("the JSON export does not carry the ratification: %v", err)
	}
	before := world.Log().Len()
	if _, _, _, err := ImportRatified(context.Background(), world, nil, ws, nil, nil, b2); err == nil || world.Log().Len() != before {
		t.Errorf("a bad file imported: %v", err)
	}
}

// FuzzReadRatified: whatever ReadRatified accepts re-renders to itself
// and checks; everything else is a *VerifyError.
func FuzzReadRatified(f *testing.F) {
	// testdata/fuzz/FuzzReadRatified holds a good file (Paris, written by
	// TestRatifiedFile with CONVENE_WRITE_RATIFIED=FILE), a truncated one
	// and a tampered one.
	f.Add([]byte("<!doctype html>"))
	f.Add([]byte(ratifiedOpen + "{}" + ratifiedClose))
	f.Fuzz(func(t *testing.T, b []byte) {
		rf, body, err := ReadRatified(b)
		if err != nil {
			var ve *VerifyError
			if !errors.As(err, &ve) {
				t.Fatalf("not a VerifyError: %v", err)
			}
			return
		}
		again, err := RenderRatified(rf)
		if err != nil || !bytes.Equal(again, b) || body.Digest != crdt.RatifiedDigest(rf.Document) {
			t.Fatal("accepted a file that does not re-render to itself")
		}
	})
}

// TestReadRatifiedObjectBomb: a signed part of empty objects ("[{},{},…]",
// three bytes each) is refused before it is decoded, instead of growing a
// slice of RatifiedProposals (160 bytes each) fifty times the file's size.
func TestReadRatifiedObjectBomb(t *testing.T) {
	const n = 1 << 20 // 3 MiB of "{},"
	var b bytes.Buffer
	b.WriteString("<!doctype html>\n" + ratifiedOpen + `{"format":"convene-ratified/1","document":{"proposals":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("{}")
	}
	b.WriteString("]}}" + ratifiedClose)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, _, err := ReadRatified(b.Bytes())
	runtime.ReadMemStats(&after)
	var ve *VerifyError
	if !errors.As(err, &ve) || ve.Code != ReasonMalformed {
		t.Fatalf("refusal: %v", err)
	}
	// Streaming through the tokens allocates little and keeps nothing;
	// decoding would grow a slice of at least n*160 bytes.
	if grew := after.TotalAlloc - before.TotalAlloc; grew > n*160/2 {
		t.Fatalf("reading a %d-byte file allocated %d bytes", b.Len(), grew)
	}
}

// TestRatifiedFileWithheldName: a hidden group that endorsed does not
// block the ratification; the file keeps its endorsement, prints "a hidden
// group" instead of its name, never holds the name, and verifies intact.
func TestRatifiedFileWithheldName(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "lyon")
	if _, err := node.Init(ctx, dir, "Lyon", "facilitator of Lyon"); err != nil {
		t.Fatal(err)
	}
	n := openNode(t, dir)
	s := act(t, n, &crdt.SessionBody{Title: "Declaration of Lyon", Cap: 5})
	g1 := act(t, n, &crdt.GroupBody{Name: "Lyon north"})
	rude := act(t, n, &crdt.GroupBody{Name: "Rude name"})
	p1 := act(t, n, &crdt.ProposalBody{Session: s, Group: g1, Text: "Bikes everywhere"})
	act(t, n, &crdt.EndorseBody{Proposal: p1, Group: rude, Revision: p1, Endorse: true})
	act(t, n, &crdt.HideBody{Target: rude, Hidden: true})
	if _, err := n.Ratify(ctx, nil, s); err != nil {
		t.Fatalf("a hidden endorsing group blocks ratification: %v", err)
	}
	file := ratifiedBytes(t, n, s)
	f, _, err := ReadRatified(file)
	if err != nil {
		t.Fatalf("file with a withheld name refused: %v", err)
	}
	if by := f.Document.Proposals[0].EndorsedBy; len(by) != 2 {
		t.Errorf("endorsed by %+v, want the hidden group's endorsement kept", by)
	}
	if bytes.Contains(file, []byte("Rude name")) {
		t.Error("the file holds the hidden group's name")
	}
	if !bytes.Contains(file, []byte("2 endorsements: ")) || !bytes.Contains(file, []byte("a hidden group")) {
		t.Error("the page does not show the withheld endorsement")
	}
}
