package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/web/apiv1"
)

func (h *harness) client() *apiv1.Client {
	return &apiv1.Client{Base: h.ts.URL, Token: h.token, HTTP: h.ts.Client()}
}

// sameAsServed checks that v, decoded by the client from GET path, encodes
// to the very bytes the server sent: the wire types lose and add nothing.
func sameAsServed(t *testing.T, c *apiv1.Client, path string, v any) {
	t.Helper()
	raw, err := c.Get(context.Background(), apiv1.Prefix+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(append(b, '\n'), raw) {
		t.Errorf("GET %s: served\n%s\nthe client's value encodes as\n%s", path, raw, b)
	}
}

// result lets a test take a value and an error in one expression:
// must(c.Status(ctx)).get(t).
type result[T any] struct {
	v   T
	err error
}

func must[T any](v T, err error) result[T] { return result[T]{v, err} }

func (r result[T]) get(t *testing.T) T {
	t.Helper()
	if r.err != nil {
		t.Fatal(r.err)
	}
	return r.v
}

// TestClientEveryEndpoint goes through every endpoint of docs/API.md with
// the one client, and checks that what it decodes is what was served.
func TestClientEveryEndpoint(t *testing.T) {
	h := newHarness(t)
	c := h.client()
	ctx := context.Background()

	st := must(c.Status(ctx)).get(t)
	if st.Gathering.Name != "Test gathering" || st.Identity.Name != "Alice" || st.Ops == 0 || st.Peers == nil {
		t.Fatalf("status: %+v", st)
	}
	sameAsServed(t, c, "/status", st)
	sameAsServed(t, c, "/peers", must(c.Peers(ctx)).get(t))

	bob := must(c.CreateIdentity(ctx, apiv1.CreateIdentity{Name: "Bob"})).get(t)
	ids := must(c.Identities(ctx)).get(t)
	if len(ids) != 2 || !ids[0].Default || !ids[0].Facilitator || ids[1] != bob {
		t.Fatalf("identities: %+v, Bob %+v", ids, bob)
	}
	sameAsServed(t, c, "/identities", ids)
	alice := ids[0].ID
	ident := must(c.Identity(ctx, bob.ID)).get(t)
	if ident.Name != "Bob" || !ident.Local {
		t.Fatalf("identity: %+v", ident)
	}
	sameAsServed(t, c, "/identities/"+bob.ID.String(), ident)
	if err := c.AddFacilitator(ctx, apiv1.AddFacilitator{Identity: bob.ID}); err != nil {
		t.Fatal(err)
	}

	ga := must(c.CreateGroup(ctx, apiv1.CreateGroup{Name: "Group A"})).get(t)
	gb := must(c.CreateGroup(ctx, apiv1.CreateGroup{Name: "Group B", As: &bob.ID})).get(t)
	if err := c.AddScribe(ctx, gb.ID, apiv1.AddScribe{Identity: alice, As: &bob.ID}); err != nil {
		t.Fatal(err)
	}
	sameAsServed(t, c, "/groups", must(c.Groups(ctx)).get(t))
	g := must(c.Group(ctx, gb.ID)).get(t)
	if !slices.Equal(g.Scribes, []crdt.IdentityID{bob.ID, alice}) && !slices.Equal(g.Scribes, []crdt.IdentityID{alice, bob.ID}) {
		t.Fatalf("group B: %+v", g)
	}
	sameAsServed(t, c, "/groups/"+gb.ID.String(), g)

	cap := 3
	sess := must(c.CreateSession(ctx, apiv1.CreateSession{Title: "Workshop", Cap: &cap})).get(t)
	title := "Workshop 2"
	sess = must(c.UpdateSession(ctx, sess.ID, apiv1.UpdateSession{Title: &title})).get(t)
	if sess.Title != title || sess.Cap != 3 || !sess.Open {
		t.Fatalf("session: %+v", sess)
	}
	sameAsServed(t, c, "/sessions", must(c.Sessions(ctx)).get(t))
	sameAsServed(t, c, "/sessions/"+sess.ID.String(), must(c.Session(ctx, sess.ID)).get(t))

	prop := must(c.Propose(ctx, sess.ID, apiv1.Propose{Group: ga.ID, Text: "Share the tools"})).get(t)
	if prop.ID != prop.Revision {
		t.Fatalf("proposal answer: %+v", prop)
	}
	if err := c.Endorse(ctx, prop.ID, gb.ID, true, &bob.ID); err != nil {
		t.Fatal(err)
	}
	rev := must(c.Revise(ctx, prop.ID, apiv1.Revise{Group: gb.ID, Text: "Share the tools and the code", Base: []crdt.OpID{prop.ID}, As: &bob.ID})).get(t)
	_, err := c.Revise(ctx, prop.ID, apiv1.Revise{Group: gb.ID, Text: "stale", Base: []crdt.OpID{prop.ID}})
	var ae *apiv1.Error
	if !errors.As(err, &ae) || ae.Status != http.StatusConflict || ae.Code != apiv1.CodeConflict || !slices.Equal(ae.Heads, []crdt.OpID{rev.Revision}) {
		t.Fatalf("stale edit: %v", err)
	}
	if err := c.Endorse(ctx, prop.ID, gb.ID, false, nil); err != nil {
		t.Fatal(err)
	}
	com := must(c.PostComment(ctx, prop.ID, apiv1.PostComment{Text: "Which tools?", As: &bob.ID})).get(t)
	if err := c.Hide(ctx, com.ID, true, &bob.ID); err != nil {
		t.Fatal(err)
	}
	if err := c.Hide(ctx, com.ID, false, nil); err != nil {
		t.Fatal(err)
	}
	doc := must(c.Document(ctx, sess.ID)).get(t)
	if len(doc.Proposals) != 1 || doc.Proposals[0].Revision != rev.Revision || doc.Freshness.LastSync != nil {
		t.Fatalf("document: %+v", doc)
	}
	sameAsServed(t, c, "/sessions/"+sess.ID.String()+"/document", doc)
	p := must(c.Proposal(ctx, prop.ID)).get(t)
	if p.Session != sess.ID {
		t.Fatalf("proposal: %+v", p)
	}
	sameAsServed(t, c, "/proposals/"+prop.ID.String(), p)
	revs := must(c.Revisions(ctx, prop.ID)).get(t)
	if len(revs) != 2 || revs[1].Author != bob.ID {
		t.Fatalf("revisions: %+v", revs)
	}
	sameAsServed(t, c, "/proposals/"+prop.ID.String()+"/revisions", revs)
	coms := must(c.Comments(ctx, prop.ID)).get(t)
	if len(coms) != 1 || coms[0].Text != "Which tools?" {
		t.Fatalf("comments: %+v", coms)
	}
	sameAsServed(t, c, "/proposals/"+prop.ID.String()+"/comments", coms)

	ev := must(c.CreateEvent(ctx, apiv1.CreateEvent{EventFields: crdt.EventFields{
		Title: "Assembly", Start: "2026-03-28T09:00:00+01:00", End: "2026-03-28T18:00:00+01:00", Timezone: "Europe/Paris",
		Place: &apiv1.Place{Venue: "La Bourse"}, Group: &gb.ID, Capacity: 1,
	}, As: &bob.ID})).get(t)
	if ev.Status != "confirmed" || ev.Creator != bob.ID || ev.Tags == nil {
		t.Fatalf("event: %+v", ev)
	}
	desc := "Bring drafts."
	ev = must(c.UpdateEvent(ctx, ev.ID, apiv1.UpdateEvent{EventPatch: crdt.EventPatch{Description: &desc}})).get(t)
	if ev.Description != desc {
		t.Fatalf("patched event: %+v", ev)
	}
	reg := must(c.Register(ctx, ev.ID, bob.ID, apiv1.Register{Status: "going"})).get(t)
	if reg != (apiv1.Registration{Status: "going"}) {
		t.Fatalf("registration: %+v", reg)
	}
	if reg := must(c.Register(ctx, ev.ID, alice, apiv1.Register{Status: "going"})).get(t); !reg.Waitlisted {
		t.Fatalf("second going over capacity 1: %+v", reg)
	}
	sameAsServed(t, c, "/events", must(c.Events(ctx)).get(t))
	sameAsServed(t, c, "/events/"+ev.ID.String(), must(c.Event(ctx, ev.ID)).get(t))

	var bundle bytes.Buffer
	if err := c.Export(ctx, url.Values{"format": {"bundle"}}, &bundle); err != nil {
		t.Fatal(err)
	}
	res := must(c.Import(ctx, &bundle)).get(t)
	if res.Added != 0 || res.Duplicate != must(c.Status(ctx)).get(t).Ops {
		t.Fatalf("import of its own export: %+v", res)
	}
	err = c.Export(ctx, url.Values{"format": {"nope"}}, &bundle)
	if !errors.As(err, &ae) || ae.Code != apiv1.CodeBadRequest {
		t.Fatalf("export of an unknown format: %v", err)
	}
}

// TestFieldNamesExact: encoding/json matches names in any case and keeps
// the last of repeated ones; the API takes each field by its exact name,
// once, and refuses the request otherwise without changing anything.
func TestFieldNamesExact(t *testing.T) {
	h := newHarness(t)
	c := h.cast()
	var ev eventOut
	h.call("POST", "/events", map[string]any{"title": "Lunch", "start": "2026-06-02T12:00:00Z", "end": "2026-06-02T13:00:00Z", "timezone": "UTC"}, 201, &ev)
	cases := []struct {
		name, method, path, body string
	}{
		{"another case after the right one", "POST", "/sessions", `{"title":"a","TITLE":"b"}`},
		{"only another case", "POST", "/sessions", `{"Title":"a"}`},
		{"a name twice", "POST", "/sessions", `{"title":"a","title":"b"}`},
		{"as in capitals", "POST", "/groups", `{"name":"G","AS":"` + c.bob.ID + `"}`},
		{"embedded event field", "POST", "/events", `{"Title":"x","start":"2026-06-02T12:00:00Z","end":"2026-06-02T13:00:00Z","timezone":"UTC"}`},
		{"nested place field", "POST", "/events", `{"title":"x","start":"2026-06-02T12:00:00Z","end":"2026-06-02T13:00:00Z","timezone":"UTC","place":{"Venue":"v"}}`},
		{"patch field", "PATCH", "/events/" + ev.ID, `{"DESCRIPTION":"d"}`},
		{"registration", "PUT", "/events/" + ev.ID + "/participants/" + c.alice.ID, `{"Status":"going"}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := h.digest()
			h.callErr(tc.method, tc.path, tc.body, http.StatusBadRequest, apiv1.CodeBadRequest)
			if h.digest() != before {
				t.Fatal("a refused request changed the node")
			}
		})
	}
	h.call("POST", "/sessions", `{"title":"a","prompt":"p","cap":2}`, 201, nil)
}

// TestTwoScribesOnOneLaptop: two people share one laptop, each the scribe
// of their own group. What each does is signed by the identity they chose,
// and one cannot act for the other's group; when a request names nobody,
// the node picks the scribe of the group, not the default identity.
func TestTwoScribesOnOneLaptop(t *testing.T) {
	h := newHarness(t)
	c := h.cast() // Alice (default) scribes group A, Bob group B
	cl := h.client()
	ctx := context.Background()
	alice, bob := mustID(t, c.alice.ID), mustID(t, c.bob.ID)
	ga, gb, sid := mustOp(t, c.a.ID), mustOp(t, c.b.ID), mustOp(t, c.session.ID)

	pb := must(cl.Propose(ctx, sid, apiv1.Propose{Group: gb, Text: "Bob's", As: &bob})).get(t)
	pa := must(cl.Propose(ctx, sid, apiv1.Propose{Group: ga, Text: "Alice's", As: &alice})).get(t)
	picked := must(cl.Propose(ctx, sid, apiv1.Propose{Group: gb, Text: "nobody named"})).get(t)

	before := h.digest()
	_, err := cl.Propose(ctx, sid, apiv1.Propose{Group: ga, Text: "not his group", As: &bob})
	var ae *apiv1.Error
	if !errors.As(err, &ae) || ae.Code != apiv1.CodeNotScribe {
		t.Fatalf("Bob proposing for group A: %v", err)
	}
	if err := cl.Endorse(ctx, pb.ID, gb, true, &alice); !errors.As(err, &ae) || ae.Code != apiv1.CodeNotScribe {
		t.Fatalf("Alice endorsing for group B: %v", err)
	}
	if h.digest() != before {
		t.Fatal("refused acts changed the node")
	}

	if err := cl.Endorse(ctx, pa.ID, gb, true, &bob); err != nil {
		t.Fatal(err)
	}
	rb := must(cl.Revise(ctx, pb.ID, apiv1.Revise{Group: gb, Text: "Bob's, better", Base: []crdt.OpID{pb.ID}, As: &bob})).get(t)
	ra := must(cl.Revise(ctx, pa.ID, apiv1.Revise{Group: ga, Text: "Alice's, better", Base: []crdt.OpID{pa.ID}, As: &alice})).get(t)

	authors := map[crdt.OpID]crdt.IdentityID{}
	for _, pid := range []crdt.OpID{pa.ID, pb.ID, picked.ID} {
		for _, r := range must(cl.Revisions(ctx, pid)).get(t) {
			authors[r.ID] = r.Author
		}
	}
	want := map[crdt.OpID]crdt.IdentityID{pa.ID: alice, ra.Revision: alice, pb.ID: bob, rb.Revision: bob, picked.ID: bob}
	for id, who := range want {
		if authors[id] != who {
			t.Errorf("revision %s by %s, want %s", id, authors[id], who)
		}
	}
	p := must(cl.Proposal(ctx, pa.ID)).get(t)
	if p.Revision != ra.Revision || !slices.Equal(p.EndorsedBy, []crdt.OpID{ga}) {
		t.Fatalf("Alice's proposal after her edit: %+v", p)
	}
}

func mustID(t *testing.T, s string) crdt.IdentityID {
	t.Helper()
	return must(crdt.ParseIdentityID(s)).get(t)
}

func mustOp(t *testing.T, s string) crdt.OpID {
	t.Helper()
	return must(crdt.ParseOpID(s)).get(t)
}
