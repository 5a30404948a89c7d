package web

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/node/export"
	"github.com/convene/convene/web/apiv1"
)

// TestRatifyAndImport: ratification, the ratified document as JSON and as
// a file, and both kinds of import, through the one client.
func TestRatifyAndImport(t *testing.T) {
	h := newHarness(t)
	c := h.client()
	ctx := context.Background()
	bob := must(c.CreateIdentity(ctx, apiv1.CreateIdentity{Name: "Bob"})).get(t)
	ga := must(c.CreateGroup(ctx, apiv1.CreateGroup{Name: "Group A"})).get(t)
	gb := must(c.CreateGroup(ctx, apiv1.CreateGroup{Name: "Group B", As: &bob.ID})).get(t)
	cap := 3
	src := must(c.CreateSession(ctx, apiv1.CreateSession{Title: "Paris", Cap: &cap})).get(t)
	p1 := must(c.Propose(ctx, src.ID, apiv1.Propose{Group: ga.ID, Text: "Share the tools"})).get(t)
	must(c.Propose(ctx, src.ID, apiv1.Propose{Group: gb.ID, Text: "Teach the trade", As: &bob.ID})).get(t)
	if err := c.Endorse(ctx, p1.ID, gb.ID, true, &bob.ID); err != nil {
		t.Fatal(err)
	}

	var ae *apiv1.Error
	if _, err := c.Ratified(ctx, src.ID); !errors.As(err, &ae) || ae.Status != 404 || ae.Code != apiv1.CodeNotRatified {
		t.Fatalf("before: %v", err)
	}
	if _, err := c.Ratify(ctx, src.ID, apiv1.Ratify{As: &bob.ID}); !errors.As(err, &ae) || ae.Status != 403 || ae.Code != apiv1.CodeForbidden {
		t.Fatalf("a scribe ratifies: %v", err)
	}
	made := must(c.Ratify(ctx, src.ID, apiv1.Ratify{})).get(t)
	must(c.Revise(ctx, p1.ID, apiv1.Revise{Group: ga.ID, Text: "later", Base: []crdt.OpID{p1.ID}})).get(t)
	rd := must(c.Ratified(ctx, src.ID)).get(t)
	if rd.Ratification.ID != made.ID || rd.Ratification.Digest != made.Digest || len(rd.Proposals) != 2 ||
		rd.Proposals[0].Text != "Share the tools" || rd.Proposals[0].Endorsements != 2 || len(rd.Groups) != 2 || len(rd.History) != 1 {
		t.Fatalf("ratified: %+v", rd)
	}
	sameAsServed(t, c, "/sessions/"+src.ID.String()+"/ratified", rd)
	file := must(c.RatifiedFile(ctx, src.ID)).get(t)
	if _, _, err := export.ReadRatified(file); err != nil {
		t.Fatalf("the served file: %v", err)
	}

	dst := must(c.CreateSession(ctx, apiv1.CreateSession{Title: "World", Cap: &cap})).get(t)
	im := must(c.ImportInto(ctx, dst.ID, apiv1.Import{File: file})).get(t)
	if len(im.Imported) != 2 || len(im.Skipped) != 0 {
		t.Fatalf("import: %+v", im)
	}
	im = must(c.ImportInto(ctx, dst.ID, apiv1.Import{File: file})).get(t)
	if len(im.Imported) != 0 || len(im.Skipped) != 2 {
		t.Fatalf("second import: %+v", im)
	}
	// The edited proposal, from the session: a new source revision.
	im = must(c.ImportInto(ctx, dst.ID, apiv1.Import{Session: &src.ID, Proposals: []crdt.OpID{p1.ID}})).get(t)
	if len(im.Imported) != 1 {
		t.Fatalf("session import: %+v", im)
	}
	doc := must(c.Document(ctx, dst.ID)).get(t)
	if len(doc.Proposals) != 3 {
		t.Fatalf("document after imports: %+v", doc.Proposals)
	}
	for _, p := range doc.Proposals {
		if p.From == nil || p.From.Session != src.ID || p.From.Gathering != h.node.Gathering() {
			t.Errorf("provenance of %s: %+v", p.ID, p.From)
		}
	}
	tampered := bytes.Replace(file, []byte("Teach the trade"), []byte("Teach the tread"), 1)
	h.callErr("POST", "/sessions/"+dst.ID.String()+"/imports", apiv1.Import{File: tampered}, http.StatusBadRequest, apiv1.CodeBadRatifiedFile)
	h.callErr("POST", "/sessions/"+dst.ID.String()+"/imports", apiv1.Import{File: file, As: &bob.ID}, http.StatusForbidden, apiv1.CodeForbidden)
	h.callErr("POST", "/sessions/"+dst.ID.String()+"/imports", apiv1.Import{}, http.StatusBadRequest, apiv1.CodeBadRequest)
}
