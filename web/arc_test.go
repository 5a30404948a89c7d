package web

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/web/apiv1"
)

// TestTranslationsEndpoints: a translation of the current revision, the
// document in a language, staleness after an edit, hiding, and bad input
// answered with a code and no change.
func TestTranslationsEndpoints(t *testing.T) {
	h := newHarness(t)
	cs := h.cast()
	c := h.client()
	ctx := context.Background()
	sid := must(crdt.ParseOpID(cs.session.ID)).get(t)
	ga := must(crdt.ParseOpID(cs.a.ID)).get(t)
	gb := must(crdt.ParseOpID(cs.b.ID)).get(t)
	bob := must(crdt.ParseIdentityID(cs.bob.ID)).get(t)

	p := must(c.Propose(ctx, sid, apiv1.Propose{Group: ga, Text: "Free transit"})).get(t)
	tr := must(c.Translate(ctx, p.ID, apiv1.Translate{Group: gb, Lang: "es", From: "en", Text: "Transporte gratuito", As: &bob})).get(t)
	if tr.Revision != p.Revision {
		t.Fatalf("translated revision %s, want the current %s", tr.Revision, p.Revision)
	}
	doc := must(c.DocumentIn(ctx, sid, "es")).get(t)
	got := doc.Proposals[0]
	if got.Text != "Transporte gratuito" || got.TextLang != "es" || got.Original != "Free transit" || got.Translations["es"].ID != tr.ID {
		t.Fatalf("document in es: %+v", got)
	}
	sameAsServed(t, c, "/sessions/"+sid.String()+"/document?lang=es", doc)
	plain := must(c.Document(ctx, sid)).get(t)
	if pp := plain.Proposals[0]; pp.Text != "Free transit" || pp.TextLang != "" || pp.Original != "" || pp.Translations["es"].Stale {
		t.Fatalf("document without lang: %+v", pp)
	}
	if fr := must(c.DocumentIn(ctx, sid, "fr")).get(t).Proposals[0]; fr.Text != "Free transit" || fr.TextLang != "" {
		t.Fatalf("document in fr, untranslated: %+v", fr)
	}
	sameAsServed(t, c, "/sessions/"+sid.String()+"/document", plain)

	// Bad input changes nothing.
	before := h.digest()
	h.callErr("POST", "/proposals/"+p.ID.String()+"/translations", map[string]any{"group": cs.b.ID, "lang": "de", "text": "x", "as": cs.bob.ID}, 400, apiv1.CodeBadRequest)
	h.callErr("POST", "/proposals/"+p.ID.String()+"/translations", map[string]any{"group": cs.b.ID, "lang": "es", "text": " ", "as": cs.bob.ID}, 400, apiv1.CodeBadRequest)
	h.callErr("POST", "/proposals/"+p.ID.String()+"/translations", map[string]any{"group": cs.b.ID, "lang": "es", "text": "x", "as": cs.alice.ID}, 403, apiv1.CodeNotScribe)
	h.callErr("POST", "/proposals/"+sid.String()+"/translations", map[string]any{"group": cs.b.ID, "lang": "es", "text": "x"}, 404, apiv1.CodeNotFound)
	h.callErr("POST", "/proposals/"+p.ID.String()+"/translations", map[string]any{"group": cs.b.ID, "Lang": "es", "text": "x"}, 400, apiv1.CodeBadRequest)
	h.callErr("GET", "/sessions/"+sid.String()+"/document?lang=de", nil, 400, apiv1.CodeBadRequest)
	if h.digest() != before {
		t.Fatal("refused requests changed the log")
	}

	// An edit makes the translation stale: the language view shows the
	// original again.
	must(c.Revise(ctx, p.ID, apiv1.Revise{Group: ga, Text: "Free transit for all", Base: []crdt.OpID{p.Revision}})).get(t)
	es := must(c.DocumentIn(ctx, sid, "es")).get(t).Proposals[0]
	if es.Text != "Free transit for all" || es.TextLang != "" || !es.Translations["es"].Stale {
		t.Fatalf("after the edit: %+v", es)
	}
	// Hidden like any content.
	if err := c.Hide(ctx, tr.ID, true, nil); err != nil {
		t.Fatal(err)
	}
	if hid := must(c.Document(ctx, sid)).get(t).Proposals[0]; len(hid.Translations) != 0 {
		t.Fatalf("hidden translation still shown: %+v", hid.Translations)
	}
}

// TestAgendaEndpoints: PATCH sets the agenda (with other fields, as one
// step), POST /phase starts a step, facilitators only.
func TestAgendaEndpoints(t *testing.T) {
	h := newHarness(t)
	cs := h.cast()
	c := h.client()
	ctx := context.Background()
	sid := must(crdt.ParseOpID(cs.session.ID)).get(t)
	bob := must(crdt.ParseIdentityID(cs.bob.ID)).get(t)

	plan := []apiv1.Step{{Title: "Introduction", Minutes: 15}, {Title: "Collaborative session", Minutes: 45}}
	title := "Day one"
	sess := must(c.UpdateSession(ctx, sid, apiv1.UpdateSession{Title: &title, Agenda: &plan})).get(t)
	if sess.Title != title || len(sess.Agenda) != 2 || sess.Agenda[1] != plan[1] || sess.Phase != nil {
		t.Fatalf("session: %+v", sess)
	}
	sameAsServed(t, c, "/sessions/"+sid.String(), sess)
	sess = must(c.StartStep(ctx, sid, apiv1.StartStep{Index: 1})).get(t)
	if sess.Phase == nil || sess.Phase.Index != 1 || sess.Phase.StartedAt == "" {
		t.Fatalf("after starting step 1: %+v", sess)
	}
	sameAsServed(t, c, "/sessions/"+sid.String(), sess)

	before := h.digest()
	_, err := c.StartStep(ctx, sid, apiv1.StartStep{Index: 0, As: &bob})
	var ae *apiv1.Error
	if !errors.As(err, &ae) || ae.Status != http.StatusForbidden || ae.Code != apiv1.CodeForbidden {
		t.Fatalf("bob starts a step: %v", err)
	}
	h.callErr("POST", "/sessions/"+sid.String()+"/phase", map[string]any{"index": 2}, 400, apiv1.CodeBadRequest)
	h.callErr("PATCH", "/sessions/"+sid.String(), map[string]any{"agenda": []map[string]any{{"title": "x", "minutes": 0}}}, 400, apiv1.CodeBadRequest)
	h.callErr("PATCH", "/sessions/"+sid.String(), map[string]any{"agenda": []map[string]any{{"title": "x", "Minutes": 5}}}, 400, apiv1.CodeBadRequest)
	// One invalid part refuses the whole PATCH.
	h.callErr("PATCH", "/sessions/"+sid.String(), map[string]any{"title": "ok", "agenda": []map[string]any{{"title": "", "minutes": 5}}}, 400, apiv1.CodeBadRequest)
	h.callErr("PATCH", "/sessions/"+sid.String(), map[string]any{"agenda": []any{}, "as": cs.bob.ID}, 403, apiv1.CodeForbidden)
	if h.digest() != before {
		t.Fatal("refused requests changed the log")
	}
	sess = must(c.UpdateSession(ctx, sid, apiv1.UpdateSession{Agenda: &[]apiv1.Step{}})).get(t)
	if len(sess.Agenda) != 0 || sess.Phase != nil {
		t.Fatalf("cleared agenda: %+v", sess)
	}
}
