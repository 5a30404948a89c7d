package ui

// Browser tests of the congress's arc: a translation seen in Spanish on
// the projection, marked stale after an edit; a step of the agenda started
// from the facilitator's page and its timer on the projection and the
// scribe page.

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"
)

// maybeAxe runs axe-core on the tab's page when `npm ci` installed it; the
// rest of the test runs either way.
func (b *browserTest) maybeAxe(tab context.Context, where string) {
	b.t.Helper()
	src, err := os.ReadFile(filepath.Join("..", "..", "node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		b.t.Logf("%s: axe-core not installed (npm ci), accessibility not checked", where)
		return
	}
	b.axeCheck(tab, string(src), where)
}

func TestBrowserTranslation(t *testing.T) {
	b := newBrowserTest(t)
	es := mustCatalog(t, "es")
	// The language is a cookie every test's node shares: leave it English.
	t.Cleanup(func() {
		tab := b.tab()
		b.do(tab, chromedp.Navigate(b.url+"/events?lang=en"))
	})
	sid := b.createSession("Transporte", "", 0)
	ana := b.apiCall("POST", "/identities", map[string]any{"name": "Ana"})["id"].(string)
	ga := b.apiCall("POST", "/groups", map[string]any{"name": "Group A", "as": ana})["id"].(string)
	bea := b.apiCall("POST", "/identities", map[string]any{"name": "Bea"})["id"].(string)
	gb := b.apiCall("POST", "/groups", map[string]any{"name": "Grupo B", "as": bea})["id"].(string)
	pid := b.apiCall("POST", "/sessions/"+sid+"/proposals", map[string]any{"group": ga, "text": "Free public transport", "as": ana})["id"].(string)

	// Bea's group translates it on the scribe page, read in Spanish.
	scribe := b.tab()
	b.do(scribe, chromedp.Navigate(b.url+"/s/"+sid+"?lang=es"))
	li := `document.querySelector('#proposals li[data-id=` + jsString(pid) + `]')`
	b.waitJS(scribe, `!!`+li+` && document.getElementById('identity').options.length >= 3`)
	eval[bool](b, scribe, `(() => { const s = document.getElementById('identity'); s.value = `+jsString(bea)+`; s.dispatchEvent(new Event('change')); return true; })()`)
	b.waitJS(scribe, `[...document.getElementById('group').options].some(o => o.value === `+jsString(gb)+`)`)
	eval[bool](b, scribe, `(() => { const s = document.getElementById('group'); s.value = `+jsString(gb)+`; s.dispatchEvent(new Event('change')); return true; })()`)
	button := li + `.querySelector('button.translate')`
	b.waitJS(scribe, `!`+button+`.hidden && !`+button+`.disabled`)
	eval[bool](b, scribe, `(`+button+`.click(), true)`)
	form := li + `.querySelector('form.translate-form')`
	b.waitJS(scribe, `!`+form+`.hidden && document.activeElement === `+form+`.querySelector('textarea')`)
	if got := eval[string](b, scribe, form+`.querySelector('blockquote').textContent`); got != "Free public transport" {
		t.Fatalf("the form shows %q as the original", got)
	}
	b.maybeAxe(scribe, "scribe with the translation form, es")
	eval[bool](b, scribe, `(() => { const f = `+form+`; f.querySelector('select[id$="-lang"]').value = 'es'; f.querySelector('select[id$="-from"]').value = 'en'; f.querySelector('textarea').value = 'Transporte público gratuito'; f.querySelector('button[type=submit]').click(); return true; })()`)
	b.waitJS(scribe, li+`.querySelector('li.translation[data-lang=es]') && !`+li+`.querySelector('li.translation.stale') && `+button+`.hidden`)

	// The projection, in Spanish, shows the translation and names the
	// original's language.
	proj := b.tab()
	b.do(proj, chromedp.Navigate(b.url+"/s/"+sid+"/projection?lang=es"))
	b.waitJS(proj, `document.querySelector('#proposals li .ptext') && document.querySelector('#proposals li .ptext').textContent === 'Transporte público gratuito'`)
	note := msg(es, "projection.translated_from", "lang", "inglés") + " Free public transport"
	b.waitJS(proj, `document.querySelector('#proposals li .original').textContent === `+jsString(note))
	if lang := eval[string](b, proj, `document.querySelector('#proposals li .ptext').lang`); lang != "es" {
		t.Errorf("translated text marked lang %q", lang)
	}
	b.maybeAxe(proj, "projection in Spanish with a translation")

	// An edit of the original makes the translation stale: the projection
	// shows the new original and says so; the scribe page marks it and
	// offers to translate again.
	b.apiCall("POST", "/proposals/"+pid+"/revisions", map[string]any{"group": ga, "text": "Free public transport at night too", "base": []string{pid}, "as": ana})
	b.waitJS(proj, `document.querySelector('#proposals li .ptext').textContent === 'Free public transport at night too'`)
	stale := msg(es, "projection.translation_stale", "lang", "español")
	b.waitJS(proj, `document.querySelector('#proposals li .original').textContent === `+jsString(stale)+` && !document.querySelector('#proposals li .ptext').lang`)
	b.waitJS(scribe, li+`.querySelector('li.translation.stale[data-lang=es]') && !`+button+`.hidden`)
	if got, want := eval[string](b, scribe, button+`.textContent`), msg(es, "translate.update", "lang", "español"); got != want {
		t.Errorf("translate button says %q, want %q", got, want)
	}

	// The operator shows the original texts instead.
	eval[bool](b, proj, `(() => { const s = document.getElementById('room-lang'); s.value = ''; s.dispatchEvent(new Event('change')); return true; })()`)
	b.waitJS(proj, `document.querySelector('#proposals li .original').hidden && location.search.includes('text=')`)
}

func TestBrowserAgendaTimer(t *testing.T) {
	b := newBrowserTest(t)
	en := mustCatalog(t, "en")
	sid := b.createSession("Congress", "", 0)

	// The facilitator sets the congress's plan in one click and starts the
	// second step.
	fac := b.tab()
	b.do(fac, chromedp.Navigate(b.url+"/facilitate?lang=en"))
	row := `document.querySelector('#sessions tr[data-id=` + jsString(sid) + `]')`
	b.waitJS(fac, `!!`+row+` && !!`+row+`.querySelector('.agenda-template')`)
	eval[bool](b, fac, `(`+row+`.querySelector('details').open = true, `+row+`.querySelector('.agenda-template').click(), true)`)
	b.waitJS(fac, `!!`+row+` && `+row+`.querySelectorAll('.start-step').length === 4 && `+row+`.querySelector('details').open`)
	b.maybeAxe(fac, "facilitate with the agenda open")
	eval[bool](b, fac, `(`+row+`.querySelectorAll('.start-step')[1].click(), true)`)
	b.waitJS(fac, `!!`+row+` && `+row+`.querySelectorAll('.start-step')[1].getAttribute('aria-pressed') === 'true'`)

	// The projection shows the step and the time left, counting down.
	proj := b.tab()
	b.do(proj, chromedp.Navigate(b.url+"/s/"+sid+"/projection?lang=en"))
	step := msg(en, "agenda.step", "n", "2", "total", "4", "title", en["agenda.seed_collab"])
	b.waitJS(proj, `!document.getElementById('agenda-now').hidden && document.querySelector('#agenda-now .step-title').textContent === `+jsString(step))
	left := eval[string](b, proj, `document.querySelector('#agenda-now .step-left').textContent`)
	m := regexp.MustCompile(`^(\d+):(\d\d) left$`).FindStringSubmatch(left)
	if m == nil {
		t.Fatalf("time left reads %q", left)
	}
	if min, _ := strconv.Atoi(m[1]); min > 45 {
		t.Errorf("time left %q is more than the step's 45 minutes", left)
	}
	b.waitJS(proj, `document.querySelector('#agenda-now .step-left').textContent !== `+jsString(left))

	// The scribe page shows it too.
	scribe := b.tab()
	b.do(scribe, chromedp.Navigate(b.url+"/s/"+sid+"?lang=en"))
	b.waitJS(scribe, `!document.getElementById('agenda-now').hidden && document.querySelector('#agenda-now .step-title').textContent === `+jsString(step))

	// Stopping the timer takes it off both screens.
	eval[bool](b, fac, `(`+row+`.querySelector('.stop-step').click(), true)`)
	b.waitJS(proj, `document.getElementById('agenda-now').hidden`)
	b.waitJS(scribe, `document.getElementById('agenda-now').hidden`)
}
