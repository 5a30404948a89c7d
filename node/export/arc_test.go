package export

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/convene/convene/crdt"
)

// arcSample adds to the sample an agenda, a running step, a fresh Spanish
// translation of the top proposal and a stale French one of the edited
// proposal.
func arcSample(t *testing.T) *sample {
	s := newSample(t)
	s.do("founder", &crdt.AgendaBody{Session: s.session, Steps: []crdt.Step{{Title: "Introduction", Minutes: 15}, {Title: "Collaborative session", Minutes: 45}}})
	s.do("founder", &crdt.PhaseBody{Session: s.session, Index: 1})
	s.do("bob", &crdt.TranslationBody{Proposal: s.pTop, Group: s.groupB, Revision: s.pTop, Lang: "es", From: "en", Text: "Transporte *público* gratuito"})
	s.do("carol", &crdt.TranslationBody{Proposal: s.pEdited, Group: s.groupC, Revision: s.pEdited, Lang: "fr", Text: "Pistes cyclables"})
	return s
}

func TestJSONCarriesTranslationsAndAgenda(t *testing.T) {
	s := arcSample(t)
	var b bytes.Buffer
	if err := JSON(&b, s.collect()); err != nil {
		t.Fatal(err)
	}
	var out struct {
		Sessions []struct {
			Session   crdt.Session `json:"session"`
			Proposals []struct {
				ID           crdt.OpID                   `json:"id"`
				Translations map[string]crdt.Translation `json:"translations"`
			} `json:"proposals"`
		} `json:"sessions"`
	}
	if err := json.Unmarshal(b.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	se := out.Sessions[0]
	if len(se.Session.Agenda) != 2 || se.Session.Phase == nil || se.Session.Phase.Index != 1 {
		t.Errorf("session: %+v", se.Session)
	}
	found := 0
	for _, p := range se.Proposals {
		switch p.ID {
		case s.pTop:
			if tr := p.Translations["es"]; tr.Text != "Transporte *público* gratuito" || tr.Stale || tr.From != "en" {
				t.Errorf("top proposal: %+v", p.Translations)
			}
			found++
		case s.pEdited:
			if tr := p.Translations["fr"]; !tr.Stale {
				t.Errorf("edited proposal: %+v", p.Translations)
			}
			found++
		}
	}
	if found != 2 {
		t.Errorf("found %d of the translated proposals", found)
	}
}

func TestMarkdownPerLanguage(t *testing.T) {
	s := arcSample(t)
	md := func(lang string) string {
		x := s.collect()
		x.Lang = lang
		var b bytes.Buffer
		if err := Markdown(&b, x); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	orig := md("")
	for _, want := range []string{"Agenda (60 min):", "1. Introduction: 15 min", "2. Collaborative session: 45 min",
		"Translated into Spanish.", "Translated into French (out of date)."} {
		if !strings.Contains(orig, want) {
			t.Errorf("original Markdown lacks %q:\n%s", want, orig)
		}
	}
	es := md("es")
	for _, want := range []string{"*In Spanish:", "1. Transporte \\*público\\* gratuito", "*Translated from English by Dakar \"Nord\". Original:* Free \"public\" transport",
		"*Not translated into Spanish.*"} {
		if !strings.Contains(es, want) {
			t.Errorf("Spanish Markdown lacks %q:\n%s", want, es)
		}
	}
	fr := md("fr")
	if !strings.Contains(fr, "Protected bike lanes") || !strings.Contains(fr, "*The French translation is of an earlier revision; the current text is shown.*") || strings.Contains(fr, "Pistes cyclables") {
		t.Errorf("French Markdown shows a stale translation as current:\n%s", fr)
	}
}
