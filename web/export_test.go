package web

import (
	"bytes"
	"strings"
	"testing"

	"github.com/convene/convene/node/export"
)

// TestExport downloads each format; a bundle, streamed, reads back.
func TestExport(t *testing.T) {
	h := newHarness(t)
	c := h.cast()
	h.call("POST", "/sessions/"+c.session.ID+"/proposals", map[string]any{"group": c.a.ID, "text": "Idea"}, 201, nil)
	for _, tc := range []struct {
		query, ctype, ext string
	}{
		{"format=bundle", "application/octet-stream", ".bundle"},
		{"format=json", "application/json", ".json"},
		{"format=activitystreams", "application/activity+json", ".json"},
		{"format=csv&csv=endorsements", "text/csv", ".csv"},
		{"format=md&session=" + c.session.ID, "text/markdown", ".md"},
		{"format=ics", "text/calendar", ".ics"},
	} {
		status, b, hdr := h.do("GET", "/api/v1/export?"+tc.query, nil)
		if status != 200 {
			t.Fatalf("%s: %d %s", tc.query, status, b)
		}
		if ct := hdr.Get("Content-Type"); !strings.HasPrefix(ct, tc.ctype) {
			t.Errorf("%s: Content-Type %q, want %s", tc.query, ct, tc.ctype)
		}
		if cd := hdr.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment;") || !strings.HasSuffix(cd, tc.ext+`"`) {
			t.Errorf("%s: Content-Disposition %q", tc.query, cd)
		}
		if hdr.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: Cache-Control %q", tc.query, hdr.Get("Cache-Control"))
		}
		if tc.ctype == "application/octet-stream" {
			raws, err := export.ReadBundle(bytes.NewReader(b), h.node.Gathering(), 0)
			if err != nil {
				t.Fatalf("bundle does not read back: %v", err)
			}
			if n := h.node.Log().Len(); len(raws) != n {
				t.Errorf("bundle holds %d operations, the node %d", len(raws), n)
			}
		}
	}
}

// TestDocumentShape: a document's lists are present even when empty, as
// crdt assembles them (the handler no longer fills them in).
func TestDocumentShape(t *testing.T) {
	h := newHarness(t)
	c := h.cast()
	status, b, _ := h.do("GET", "/api/v1/sessions/"+c.session.ID+"/document", nil)
	if status != 200 || !bytes.Contains(b, []byte(`"proposals":[]`)) || !bytes.Contains(b, []byte(`"waiting":[]`)) {
		t.Fatalf("empty document: %d %s", status, b)
	}
	var p idJSON
	h.call("POST", "/sessions/"+c.session.ID+"/proposals", map[string]any{"group": c.a.ID, "text": "Idea"}, 201, &p)
	h.call("DELETE", "/proposals/"+p.ID+"/endorsements/"+c.a.ID, nil, 204, nil)
	d := h.document(c.session.ID)
	got := findProposal(t, d, p.ID)
	if got.EndorsedBy == nil || len(got.EndorsedBy) != 0 || len(got.Heads) != 1 || got.Heads[0] != p.ID {
		t.Errorf("proposal after its group withdrew: %+v", got)
	}
}
