package crdt

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
)

// arcBody makes a random translation, agenda, step or hide of a
// translation for the convergence simulation (property_test.go): some
// against an old revision or into a language the gathering does not have.
func (m *sim) arcBody(sessions []Session, props []Proposal, myGroups []OpID, text string) Body {
	r := m.r
	switch r.IntN(6) {
	case 0, 1, 2:
		p, ok1 := pick(r, props)
		g, ok2 := pick(r, myGroups)
		if !ok1 || !ok2 {
			return nil
		}
		rev := p.Revision
		if r.IntN(3) == 0 {
			rev = p.ID // the first revision, often an old one
		}
		lang, _ := pick(r, append([]string{"de"}, Languages...))
		from := ""
		if r.IntN(2) == 0 {
			from = "en"
			if lang == "en" {
				from = "fr"
			}
		}
		return &TranslationBody{Proposal: p.ID, Group: g, Revision: rev, Lang: lang, From: from, Text: text}
	case 3:
		ss, ok := pick(r, sessions)
		if !ok {
			return nil
		}
		steps := make([]Step, r.IntN(5))
		for i := range steps {
			steps[i] = Step{Title: fmt.Sprintf("step %d", i), Minutes: 1 + r.IntN(60)}
		}
		return &AgendaBody{Session: ss.ID, Steps: steps}
	case 4:
		ss, ok := pick(r, sessions)
		if !ok {
			return nil
		}
		return &PhaseBody{Session: ss.ID, Index: r.IntN(5) - 1}
	default:
		p, ok := pick(r, props)
		if !ok {
			return nil
		}
		for _, tr := range p.Translations {
			return &HideBody{Target: tr.ID, Hidden: r.IntN(3) != 0}
		}
		return nil
	}
}

// TestArcConvergence: translations, agendas and steps interleaved with
// edits, hides, removals and seating, across partitions, with duplicates
// and shuffled delivery, give byte-identical documents on every site; and
// the runs do make stale and fresh translations and running steps.
func TestArcConvergence(t *testing.T) {
	var stale, fresh, phases, agendas int
	for seed := range uint64(4) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			m := runSim(t, 500+seed, 3000)
			founder := testSigner("founder")
			union := m.sites[0].ops
			all := applyOps(founder.ID, shuffled(m.r, union))
			want := dump(t, all)
			for i, site := range m.sites {
				requireSameDump(t, fmt.Sprintf("site %d", i), want, dump(t, site.state))
			}
			for _, ss := range all.Sessions() {
				if len(ss.Agenda) > 0 {
					agendas++
				}
				if ss.Phase != nil {
					phases++
				}
				d, _ := all.Document(ss.ID)
				for _, p := range d.Proposals {
					for _, tr := range p.Translations {
						if tr.Stale {
							stale++
						} else {
							fresh++
						}
					}
				}
			}
		})
	}
	t.Logf("%d stale and %d fresh translations, %d agendas, %d steps running", stale, fresh, agendas, phases)
	if stale == 0 || fresh == 0 || agendas == 0 || phases == 0 {
		t.Error("the simulation did not exercise translations and steps")
	}
}

// sameInAnyOrder applies w's operations in many orders, with duplicates,
// and returns the one state they all agree on.
func sameInAnyOrder(t *testing.T, w *world) *State {
	t.Helper()
	s := w.state()
	want := dump(t, s)
	r := rand.New(rand.NewPCG(7, 7))
	for i := range 20 {
		requireSameDump(t, fmt.Sprintf("order %d", i), want, dump(t, applyOps(w.founder.ID, shuffled(r, w.ops))))
	}
	return s
}

// TestTranslationStaleAfterConcurrentEdit: group B translates the revision
// it saw while group A, apart, edits the proposal. After they meet, the
// translation is stale everywhere; a translation of the new revision is
// shown instead of a later one of the old revision.
func TestTranslationStaleAfterConcurrentEdit(t *testing.T) {
	w := newWorld(t)
	setup(w)
	w.op("p", "alice", 20, &ProposalBody{Session: w.ref("s"), Group: w.ref("ga"), Text: "Free transit"})
	// Apart: B translates p's first revision, A edits it.
	w.op("tb", "bob", 30, &TranslationBody{Proposal: w.ref("p"), Group: w.ref("gb"), Revision: w.ref("p"), Lang: "es", From: "en", Text: "Transporte gratuito"})
	w.op("r", "alice", 29, &RevisionBody{Proposal: w.ref("p"), Group: w.ref("ga"), Text: "Free transit for all", Parents: ids(w, "p")})
	w.op("", "carol", 31, &EndorseBody{Proposal: w.ref("p"), Group: w.ref("gc"), Revision: w.ref("r"), Endorse: true})
	s := sameInAnyOrder(t, w)
	p := prop(t, w, s, "p")
	es, ok := p.Translations["es"]
	if !ok || !es.Stale || es.Revision != w.ref("p") || es.Text != "Transporte gratuito" || es.From != "en" {
		t.Fatalf("es translation after the merge: %+v", p.Translations)
	}

	// C translates the current revision; B, still behind, translates the
	// old one again later: the fresh one is shown.
	w.op("tc", "carol", 40, &TranslationBody{Proposal: w.ref("p"), Group: w.ref("gc"), Revision: w.ref("r"), Lang: "es", Text: "Transporte gratuito para todos"})
	w.op("tb2", "bob", 50, &TranslationBody{Proposal: w.ref("p"), Group: w.ref("gb"), Revision: w.ref("p"), Lang: "es", Text: "viejo"})
	w.op("tf", "bob", 51, &TranslationBody{Proposal: w.ref("p"), Group: w.ref("gb"), Revision: w.ref("p"), Lang: "fr", Text: "ancien"})
	s = sameInAnyOrder(t, w)
	p = prop(t, w, s, "p")
	if es := p.Translations["es"]; es.ID != w.ref("tc") || es.Stale {
		t.Errorf("es: %+v, want carol's fresh translation", es)
	}
	if fr := p.Translations["fr"]; fr.ID != w.ref("tf") || !fr.Stale {
		t.Errorf("fr: %+v, want the stale one (no fresh one exists)", fr)
	}
	// Translations count for nothing in endorsements.
	if p.Endorsements != 2 {
		t.Errorf("endorsements %d, want 2 (A's own and C's)", p.Endorsements)
	}
	if p.Text != "Free transit for all" {
		t.Errorf("text %q: the original stays the document's text", p.Text)
	}
}

// TestTranslationRules: what counts of a translation, and what Check says.
func TestTranslationRules(t *testing.T) {
	w := newWorld(t)
	setup(w)
	w.op("p", "alice", 20, &ProposalBody{Session: w.ref("s"), Group: w.ref("ga"), Text: "Parks"})
	w.op("t1", "bob", 30, &TranslationBody{Proposal: w.ref("p"), Group: w.ref("gb"), Revision: w.ref("p"), Lang: "es", Text: "Parques"})
	w.op("t2", "carol", 31, &TranslationBody{Proposal: w.ref("p"), Group: w.ref("gc"), Revision: w.ref("p"), Lang: "es", Text: "Jardines"})
	// Not counted: a language the gathering lacks; a group the author is
	// no scribe of; a clock before the revision it translates.
	w.op("", "bob", 32, &TranslationBody{Proposal: w.ref("p"), Group: w.ref("gb"), Revision: w.ref("p"), Lang: "de", Text: "Parks"})
	w.op("", "bob", 33, &TranslationBody{Proposal: w.ref("p"), Group: w.ref("ga"), Revision: w.ref("p"), Lang: "pt", Text: "Parques"})
	w.op("", "bob", 19, &TranslationBody{Proposal: w.ref("p"), Group: w.ref("gb"), Revision: w.ref("p"), Lang: "fr", Text: "Parcs"})
	s := sameInAnyOrder(t, w)
	p := prop(t, w, s, "p")
	if len(p.Translations) != 1 || p.Translations["es"].ID != w.ref("t2") {
		t.Fatalf("translations %+v, want only carol's es", p.Translations)
	}

	// A hidden translation is passed over; a hidden proposal shows none.
	w.op("", "founder", 40, &HideBody{Target: w.ref("t2"), Hidden: true})
	s = sameInAnyOrder(t, w)
	if es := prop(t, w, s, "p").Translations["es"]; es.ID != w.ref("t1") {
		t.Errorf("after hiding t2: %+v, want t1", es)
	}
	w.op("", "founder", 41, &HideBody{Target: w.ref("p"), Hidden: true})
	s = sameInAnyOrder(t, w)
	if tr := prop(t, w, s, "p").Translations; len(tr) != 0 {
		t.Errorf("hidden proposal shows translations %+v", tr)
	}
	w.op("", "founder", 42, &HideBody{Target: w.ref("p"), Hidden: false})

	// Seated: only seated groups' translations count.
	w.op("", "founder", 50, &SeatBody{Group: w.ref("ga"), Seated: true})
	w.op("", "founder", 51, &SeatingBody{Seating: SeatingSeated})
	s = sameInAnyOrder(t, w)
	if tr := prop(t, w, s, "p").Translations; len(tr) != 0 {
		t.Errorf("seated gathering shows unseated groups' translations %+v", tr)
	}
	body := &TranslationBody{Proposal: w.ref("p"), Group: w.ref("gb"), Revision: w.ref("p"), Lang: "es", Text: "x"}
	if err := s.Check(who("bob"), body); !errors.Is(err, ErrForbidden) {
		t.Errorf("unseated group translates: %v", err)
	}
	body.Group = w.ref("ga")
	for _, c := range []struct {
		name string
		edit func(b *TranslationBody)
		want error
	}{
		{"ok", func(*TranslationBody) {}, nil},
		{"language", func(b *TranslationBody) { b.Lang = "de" }, ErrInvalid},
		{"not a tag", func(b *TranslationBody) { b.Lang = "e s" }, ErrInvalid},
		{"same language", func(b *TranslationBody) { b.From = "es" }, ErrInvalid},
		{"empty", func(b *TranslationBody) { b.Text = " " }, ErrInvalid},
		{"too long", func(b *TranslationBody) { b.Text = string(make([]byte, MaxText+1)) }, ErrTooLarge},
		{"proposal", func(b *TranslationBody) { b.Proposal = w.ref("s") }, ErrNotFound},
		{"revision", func(b *TranslationBody) { b.Revision = w.ref("s") }, ErrNotFound},
	} {
		b := *body
		c.edit(&b)
		if err := s.Check(who("alice"), &b); !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	if err := s.Check(who("bob"), body); !errors.Is(err, ErrNotScribe) {
		t.Errorf("bob for group A: %v", err)
	}
}

// TestTranslationLimit: an identity's first MaxTranslationsPerIdentity
// translations of a proposal count, whatever order they arrive in.
func TestTranslationLimit(t *testing.T) {
	w := newWorld(t)
	setup(w)
	w.op("p", "alice", 20, &ProposalBody{Session: w.ref("s"), Group: w.ref("ga"), Text: "Parks"})
	for i := range MaxTranslationsPerIdentity + 1 {
		w.op(fmt.Sprint("t", i), "bob", int64(30+i), &TranslationBody{Proposal: w.ref("p"), Group: w.ref("gb"), Revision: w.ref("p"), Lang: "es", Text: fmt.Sprint("v", i)})
	}
	s := sameInAnyOrder(t, w)
	if es := prop(t, w, s, "p").Translations["es"]; es.ID != w.ref(fmt.Sprint("t", MaxTranslationsPerIdentity-1)) {
		t.Errorf("shown %q: the one over the limit counts", es.Text)
	}
	b := &TranslationBody{Proposal: w.ref("p"), Group: w.ref("gb"), Revision: w.ref("p"), Lang: "fr", Text: "x"}
	if err := s.Check(who("bob"), b); !errors.Is(err, ErrLimit) {
		t.Errorf("over the limit: %v", err)
	}
}

// TestAgenda: facilitators set the agenda and start steps, last writer
// wins; two facilitators starting steps at once agree on the later clock.
func TestAgenda(t *testing.T) {
	w := newWorld(t)
	setup(w)
	w.op("", "founder", 5, &FacilitatorBody{Identity: who("bob")})
	plan := []Step{{"Introduction", 15}, {"Collaborative session", 45}, {"Global review and discussion", 30}, {"Local discussion and wrap-up", 30}}
	w.op("", "founder", 20, &AgendaBody{Session: w.ref("s"), Steps: plan})
	w.op("", "carol", 21, &AgendaBody{Session: w.ref("s"), Steps: []Step{{"Mine", 5}}})   // not a facilitator
	w.op("", "founder", 9, &AgendaBody{Session: w.ref("s"), Steps: []Step{{"Early", 5}}}) // before the session
	s := sameInAnyOrder(t, w)
	sv, _ := s.Session(w.ref("s"))
	if len(sv.Agenda) != 4 || sv.Agenda[1] != plan[1] || sv.Phase != nil {
		t.Fatalf("session %+v", sv)
	}
	// Apart, the founder starts step 1 and bob step 2 a moment later.
	w.op("", "founder", 1_000, &PhaseBody{Session: w.ref("s"), Index: 1})
	w.op("", "bob", 1_500, &PhaseBody{Session: w.ref("s"), Index: 2})
	w.op("", "carol", 2_000, &PhaseBody{Session: w.ref("s"), Index: 3})
	s = sameInAnyOrder(t, w)
	sv, _ = s.Session(w.ref("s"))
	if sv.Phase == nil || sv.Phase.Index != 2 || sv.Phase.StartedAt != "1970-01-01T00:00:01.500Z" {
		t.Fatalf("phase %+v, want bob's step 2 from 1.5 s", sv.Phase)
	}
	if err := s.Check(who("founder"), &PhaseBody{Session: w.ref("s"), Index: 4}); !errors.Is(err, ErrInvalid) {
		t.Errorf("step beyond the agenda: %v", err)
	}
	if err := s.Check(who("carol"), &PhaseBody{Session: w.ref("s"), Index: 0}); !errors.Is(err, ErrForbidden) {
		t.Errorf("carol starts a step: %v", err)
	}
	if err := s.Check(who("carol"), &AgendaBody{Session: w.ref("s")}); !errors.Is(err, ErrForbidden) {
		t.Errorf("carol sets the agenda: %v", err)
	}
	if err := s.Check(who("founder"), &AgendaBody{Session: w.ref("s"), Steps: []Step{{"x", 0}}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("a step of 0 minutes: %v", err)
	}
	// A shorter agenda leaves the running step out: no step runs.
	w.op("", "founder", 3_000, &AgendaBody{Session: w.ref("s"), Steps: plan[:2]})
	s = sameInAnyOrder(t, w)
	if sv, _ = s.Session(w.ref("s")); sv.Phase != nil {
		t.Errorf("phase %+v beyond the agenda", sv.Phase)
	}
	// -1 stops.
	w.op("", "bob", 4_000, &PhaseBody{Session: w.ref("s"), Index: 0})
	w.op("", "bob", 5_000, &PhaseBody{Session: w.ref("s"), Index: -1})
	s = sameInAnyOrder(t, w)
	if sv, _ = s.Session(w.ref("s")); sv.Phase != nil {
		t.Errorf("phase %+v after stop", sv.Phase)
	}
}
