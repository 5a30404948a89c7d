package ui

// Browser tests: headless Chromium drives the pages of a real `convene run`
// process. They skip when Chromium is not installed.
//
// CONVENE_SCREENSHOTS=1 also writes docs/screenshots/*.png.
// CONVENE_UI_URL (with CONVENE_API_TOKEN) runs them against a node that is
// already running instead of starting one.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// waitLimit bounds every wait for the page to reach a state. It is a
// safety net against a hung test, not a performance assertion.
const waitLimit = 30 * time.Second

func TestBrowserScribeAndProjection(t *testing.T) {
	b := newBrowserTest(t)
	sid := b.createSession("Public space", "What should the square become?", 0)

	scribe := b.tab()
	b.do(scribe, chromedp.Navigate(b.url+"/s/"+sid))
	b.waitJS(scribe, `document.getElementById('session-title').textContent === 'Public space'`)
	// Pick an identity and create a group through the page.
	b.do(scribe,
		chromedp.SendKeys(chromedp.ID("new-identity"), "Ana"),
		chromedp.Click(chromedp.CSS("#identity-form button")),
	)
	b.waitJS(scribe, `document.querySelector('#identity option:checked') && document.querySelector('#identity option:checked').textContent === 'Ana'`)
	b.do(scribe,
		chromedp.SendKeys(chromedp.ID("new-group"), "Group A"),
		chromedp.Click(chromedp.CSS("#group-form button")),
	)
	b.waitJS(scribe, `document.querySelector('#group option:checked') && document.querySelector('#group option:checked').textContent === 'Group A' && !document.getElementById('propose-button').disabled`)
	b.do(scribe,
		chromedp.SendKeys(chromedp.ID("proposal-text"), "More shade in the square"),
		chromedp.Click(chromedp.ID("propose-button")),
	)
	b.waitJS(scribe, `document.querySelector('#proposals li .ptext') && document.querySelector('#proposals li .ptext').textContent === 'More shade in the square'`)
	pid := eval[string](b, scribe, `document.querySelector('#proposals li').dataset.id`)

	// The projection, open in another tab, follows without a reload.
	proj := b.tab()
	b.do(proj, chromedp.Navigate(b.url+"/s/"+sid+"/projection"))
	b.waitJS(proj, `document.querySelector('#proposals li .count') && document.querySelector('#proposals li .count').textContent === '1 endorsement'`)
	eval[bool](b, proj, `window.notReloaded = true`)

	// A second group (another identity on this laptop) endorses.
	bea := b.apiCall("POST", "/identities", map[string]any{"name": "Bea"})["id"].(string)
	gb := b.apiCall("POST", "/groups", map[string]any{"name": "Group B", "as": bea})["id"].(string)
	b.apiCall("PUT", "/proposals/"+pid+"/endorsements/"+gb, nil)

	b.waitJS(proj, `document.querySelector('#proposals li .count').textContent === '2 endorsements'`)
	b.waitJS(scribe, `document.querySelector('#proposals li .count').textContent === '2 endorsements'`)
	b.waitJS(scribe, `document.querySelector('#proposals li .by').textContent.includes('Group B')`)

	// An edit clears the other group's endorsement, on both screens.
	b.do(scribe, chromedp.Click(chromedp.CSS(`#proposals li .actions button:nth-child(2)`)))
	b.waitJS(scribe, `!document.querySelector('#proposals li form.editor').hidden && document.activeElement === document.querySelector('#proposals li form.editor textarea')`)
	b.do(scribe,
		chromedp.SetValue(chromedp.CSS(`#proposals li form.editor textarea`), "More shade and benches in the square"),
		chromedp.Click(chromedp.CSS(`#proposals li form.editor button[type=submit]`)),
	)
	b.waitJS(scribe, `document.querySelector('#proposals li .ptext').textContent === 'More shade and benches in the square'`)
	b.waitJS(scribe, `document.querySelector('#proposals li .count').textContent === '1 endorsement'`)
	b.waitJS(proj, `document.querySelector('#proposals li .count').textContent === '1 endorsement' && document.querySelector('#proposals li .ptext').textContent.includes('benches')`)

	// The history shows the difference word by word.
	b.do(scribe, chromedp.Click(chromedp.CSS(`#proposals li .actions button:nth-child(3)`)))
	b.waitJS(scribe, `[...document.querySelectorAll('#proposals li .history ins')].some(e => e.textContent.includes('benches'))`)

	if !eval[bool](b, proj, `window.notReloaded === true`) {
		t.Fatal("the projection reloaded instead of updating in place")
	}

	if os.Getenv("CONVENE_SCREENSHOTS") != "" {
		b.apiCall("POST", "/sessions/"+sid+"/proposals", map[string]any{"group": gb, "text": "A water fountain near the benches"})
		b.apiCall("POST", "/sessions/"+sid+"/proposals", map[string]any{"group": gb, "text": "Close the square to cars on Sundays, open it to markets and games"})
		b.waitJS(proj, `document.querySelectorAll('#proposals > li').length === 3`)
		b.waitJS(scribe, `document.querySelectorAll('#proposals > li').length === 3`)
		b.screenshot(scribe, "scribe", "h-proposals")
		b.screenshot(proj, "projection", "")
	}
}

// TestBrowserEditConflict: an edit based on a revision that someone else
// has meanwhile replaced gets their text offered, and saving again works.
func TestBrowserEditConflict(t *testing.T) {
	b := newBrowserTest(t)
	sid := b.createSession("Race", "", 0)
	ana := b.apiCall("POST", "/identities", map[string]any{"name": "Ana"})["id"].(string)
	ga := b.apiCall("POST", "/groups", map[string]any{"name": "Group A", "as": ana})["id"].(string)
	bea := b.apiCall("POST", "/identities", map[string]any{"name": "Bea"})["id"].(string)
	gb := b.apiCall("POST", "/groups", map[string]any{"name": "Group B", "as": bea})["id"].(string)
	p := b.apiCall("POST", "/sessions/"+sid+"/proposals", map[string]any{"group": ga, "text": "first words"})
	pid, rev := p["id"].(string), p["revision"].(string)

	tab := b.tab()
	b.do(tab, chromedp.Navigate(b.url+"/s/"+sid))
	b.waitJS(tab, `document.querySelectorAll('#proposals > li').length === 1`)
	eval[bool](b, tab, `(() => { const s = document.getElementById('identity'); s.value = `+jsString(ana)+`; s.dispatchEvent(new Event('change')); return true })()`)
	b.waitJS(tab, `document.getElementById('group').value === `+jsString(ga))
	b.do(tab, chromedp.Click(chromedp.CSS(`#proposals li .actions button:nth-child(2)`)))
	b.waitJS(tab, `!document.querySelector('#proposals li form.editor').hidden`)
	// Meanwhile, group B edits.
	b.apiCall("POST", "/proposals/"+pid+"/revisions", map[string]any{"group": gb, "text": "their words", "base": []string{rev}})
	b.do(tab,
		chromedp.SetValue(chromedp.CSS(`#proposals li form.editor textarea`), "my words"),
		chromedp.Click(chromedp.CSS(`#proposals li form.editor button[type=submit]`)),
	)
	b.waitJS(tab, `document.querySelector('#proposals li .theirs') && document.querySelector('#proposals li .theirs').textContent === 'their words'`)
	b.do(tab, chromedp.Click(chromedp.CSS(`#proposals li form.editor button[type=submit]`)))
	b.waitJS(tab, `document.querySelector('#proposals li .ptext').textContent === 'my words' && document.querySelector('#proposals li form.editor').hidden`)
}

func TestBrowserProposalTextIsText(t *testing.T) {
	b := newBrowserTest(t)
	sid := b.createSession("Safety", "", 0)
	ana := b.apiCall("POST", "/identities", map[string]any{"name": "Ana"})["id"].(string)
	ga := b.apiCall("POST", "/groups", map[string]any{"name": "<b>Group</b> A", "as": ana})["id"].(string)
	evil := `<script>alert(1)</script><img src=x onerror=alert(2)>`
	b.apiCall("POST", "/sessions/"+sid+"/proposals", map[string]any{"group": ga, "text": evil})

	var dialogs atomic.Int32
	for _, path := range []string{"/s/" + sid, "/s/" + sid + "/projection"} {
		tab := b.tab()
		opening := chromedp.Events(tab, page.JavascriptDialogOpening)
		go func() {
			for _, err := range opening {
				if err != nil {
					return
				}
				dialogs.Add(1)
				chromedp.Call(tab, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
			}
		}()
		b.do(tab, chromedp.Navigate(b.url+path))
		b.waitJS(tab, `document.querySelector('#proposals li .ptext') !== null`)
		if text := eval[string](b, tab, `document.querySelector('#proposals li .ptext').textContent`); text != evil {
			t.Errorf("%s shows %q, want the text itself", path, text)
		}
		if n := eval[int](b, tab, `document.querySelectorAll('#proposals script, #proposals img, #proposals b').length`); n != 0 {
			t.Errorf("%s: user text became %d elements", path, n)
		}
	}
	if n := dialogs.Load(); n != 0 {
		t.Fatalf("%d dialogs opened", n)
	}
}

func TestBrowserLanguageSwitch(t *testing.T) {
	b := newBrowserTest(t)
	sid := b.createSession("Idiomas", "", 0)
	tab := b.tab()
	b.do(tab, chromedp.Navigate(b.url+"/s/"+sid))
	b.waitJS(tab, `document.getElementById('session-title').textContent === 'Idiomas'`)
	for _, lang := range []string{"es", "fr", "pt", "en"} {
		cat := mustCatalog(t, lang)
		b.do(tab, chromedp.Click(chromedp.CSS(`.langs a[hreflang="`+lang+`"]`)))
		b.waitJS(tab, fmt.Sprintf(`document.documentElement.lang === %q && document.getElementById('session-title').textContent === 'Idiomas'`, lang))
		h2 := eval[string](b, tab, `document.getElementById('h-proposals').textContent`)
		button := eval[string](b, tab, `document.getElementById('propose-button').textContent`)
		if h2 != cat["scribe.proposals"] || button != cat["scribe.submit_proposal"] {
			t.Errorf("%s: heading %q, button %q", lang, h2, button)
		}
		// Text written by the scripts follows too.
		want := []string{cat["freshness.alone"], cat["freshness.connected.one"], cat["freshness.connected.other"], cat["freshness.synced.one"], cat["freshness.synced.other"]}
		b.waitJS(tab, `document.getElementById('freshness').textContent !== ''`)
		fresh := eval[string](b, tab, `document.getElementById('freshness').textContent`)
		if !slices.ContainsFunc(want, func(w string) bool { return strings.HasPrefix(fresh, strings.SplitN(w, " ", 2)[0]) }) {
			t.Errorf("%s: freshness line %q is not in the catalog's language", lang, fresh)
		}
	}
	// The choice sticks: another page keeps the last language.
	b.do(tab, chromedp.Navigate(b.url+"/events"))
	b.waitJS(tab, `document.documentElement.lang === 'en'`)
}

func TestBrowserFullSession(t *testing.T) {
	b := newBrowserTest(t)
	sid := b.createSession("Tiny", "", 1)
	ana := b.apiCall("POST", "/identities", map[string]any{"name": "Ana"})["id"].(string)
	ga := b.apiCall("POST", "/groups", map[string]any{"name": "Group A", "as": ana})["id"].(string)
	b.apiCall("POST", "/sessions/"+sid+"/proposals", map[string]any{"group": ga, "text": "The only one"})
	tab := b.tab()
	b.do(tab, chromedp.Navigate(b.url+"/s/"+sid))
	b.waitJS(tab, `document.querySelectorAll('#proposals > li').length === 1`)
	b.waitJS(tab, `!document.getElementById('full-note').hidden && document.getElementById('propose-form').hidden`)
}

func TestBrowserEvents(t *testing.T) {
	b := newBrowserTest(t)
	tab := b.tab()
	b.do(tab, chromedp.Navigate(b.url+"/events"))
	b.waitJS(tab, `document.getElementById('e-timezone').value !== ''`)
	b.do(tab,
		chromedp.Click(chromedp.CSS("#create summary")),
		chromedp.SendKeys(chromedp.ID("e-title"), "Bike repair workshop"),
		chromedp.SetValue(chromedp.ID("e-start"), "2031-05-03T23:30"),
		chromedp.SetValue(chromedp.ID("e-end"), "2031-05-04T01:00"),
		chromedp.SetValue(chromedp.ID("e-timezone"), "America/Mexico_City"),
		chromedp.SendKeys(chromedp.ID("e-venue"), "Casa del Pueblo"),
		chromedp.SetValue(chromedp.ID("e-capacity"), "1"),
		chromedp.Click(chromedp.CSS("#event-form button[type=submit]")),
	)
	// The form leads to the new event's page.
	b.waitJS(tab, `location.pathname.startsWith('/events/') && document.getElementById('event-title').textContent === 'Bike repair workshop'`)
	eid := eval[string](b, tab, `location.pathname.split('/').pop()`)
	ev := b.apiCall("GET", "/events/"+eid, nil)
	if ev["start"] == nil || ev["timezone"] != "America/Mexico_City" {
		t.Fatalf("event as stored: %v", ev)
	}
	if start, err := time.Parse(time.RFC3339, ev["start"].(string)); err != nil || !start.Equal(time.Date(2031, 5, 4, 5, 30, 0, 0, time.UTC)) {
		t.Errorf("start %v (%v), want 23:30 in Mexico City", ev["start"], err)
	}
	b.waitJS(tab, `document.getElementById('event-place').textContent === 'Casa del Pueblo' && document.getElementById('event-ics').getAttribute('href') === '/api/v1/events/`+eid+`.ics'`)
	b.waitJS(tab, `!document.querySelector('[data-status="going"]').disabled`)
	b.do(tab, chromedp.Click(chromedp.CSS(`[data-status="going"]`)))
	b.waitJS(tab, `document.querySelector('[data-status="going"]').getAttribute('aria-pressed') === 'true'`)
	b.waitJS(tab, `document.getElementById('event-counts').textContent.startsWith('1 of 1')`)

	// The list groups by the event's own day: May 3 in Mexico City, though
	// it is May 4 in UTC.
	b.do(tab, chromedp.Navigate(b.url+"/events"))
	b.waitJS(tab, `[...document.querySelectorAll('.day')].some(d => d.querySelector('h2').textContent.includes('May 3,') && d.textContent.includes('Bike repair workshop'))`)
}

// TestBrowserPagesLoad opens the other pages and checks that they fill
// in without script errors (tab fails the test on any).
func TestBrowserPagesLoad(t *testing.T) {
	b := newBrowserTest(t)
	b.createSession("Opening", "", 0)
	tab := b.tab()
	b.do(tab, chromedp.Navigate(b.url+"/"))
	b.waitJS(tab, `[...document.querySelectorAll('#sessions a')].some(a => a.textContent === 'Opening') && document.getElementById('freshness').textContent !== ''`)
	b.do(tab, chromedp.Navigate(b.url+"/network"))
	b.waitJS(tab, `document.getElementById('peer-id').textContent !== ''`)
	b.waitJS(tab, `!document.querySelector('img.qr') || document.querySelector('img.qr').naturalWidth > 0`)
}

// TestBrowserPublicView: the read-only address serves the projection and
// the events, live and without controls, and nothing else.
func TestBrowserPublicView(t *testing.T) {
	b := newBrowserTest(t, "--ui-public", "127.0.0.1:0")
	if b.public == "" {
		t.Skip("no public address (CONVENE_UI_URL runs against a node without one)")
	}
	sid := b.createSession("Open square", "", 0)
	b.apiCall("POST", "/events", map[string]any{"title": "Street party", "start": "2031-06-01T16:00:00Z", "end": "2031-06-01T20:00:00Z", "timezone": "UTC"})
	ana := b.apiCall("POST", "/identities", map[string]any{"name": "Ana"})["id"].(string)
	ga := b.apiCall("POST", "/groups", map[string]any{"name": "Group A", "as": ana})["id"].(string)

	const noControls = `document.querySelectorAll('form, button, input, select, textarea, details').length === 0`
	proj := b.tab()
	b.do(proj, chromedp.Navigate(b.public+"/s/"+sid+"/projection"))
	b.waitJS(proj, `document.getElementById('session-title').textContent === 'Open square' && !document.getElementById('no-proposals').hidden`)
	b.waitJS(proj, noControls)
	eval[bool](b, proj, `window.notReloaded = true`)
	b.apiCall("POST", "/sessions/"+sid+"/proposals", map[string]any{"group": ga, "text": "Trees along the edge"})
	b.waitJS(proj, `document.querySelector('#proposals li .ptext') && document.querySelector('#proposals li .ptext').textContent === 'Trees along the edge'`)
	if !eval[bool](b, proj, `window.notReloaded === true`) {
		t.Fatal("the public projection reloaded instead of updating in place")
	}
	if eval[bool](b, proj, `[...document.querySelectorAll('nav a')].some(a => a.getAttribute('href') === '/network' || a.getAttribute('href') === '/')`) {
		t.Error("the public projection links to pages it does not serve")
	}

	events := b.tab()
	b.do(events, chromedp.Navigate(b.public+"/events"))
	b.waitJS(events, `document.body.textContent.includes('Street party')`)
	b.waitJS(events, noControls)
	b.apiCall("POST", "/events", map[string]any{"title": "Seed swap", "start": "2031-06-02T10:00:00Z", "end": "2031-06-02T12:00:00Z", "timezone": "UTC"})
	b.waitJS(events, `document.body.textContent.includes('Seed swap')`)

	for _, path := range []string{"/network", "/s/" + sid} {
		res, err := http.Get(b.public + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("public %s: %s, want 404", path, res.Status)
		}
	}
}

// TestBrowserWaitlist: with one place, the second identity to say going
// waits, and the page says so without a reload.
func TestBrowserWaitlist(t *testing.T) {
	b := newBrowserTest(t)
	ev := b.apiCall("POST", "/events", map[string]any{"title": "Pottery class", "start": "2031-07-01T16:00:00Z", "end": "2031-07-01T18:00:00Z", "timezone": "UTC", "capacity": 1})
	eid := ev["id"].(string)
	bea := b.apiCall("POST", "/identities", map[string]any{"name": "Bea"})["id"].(string)

	tab := b.tab()
	b.do(tab, chromedp.Navigate(b.url+"/events/"+eid))
	b.waitJS(tab, `document.getElementById('event-title').textContent === 'Pottery class' && !document.querySelector('[data-status="going"]').disabled`)
	// The default identity registers through the page and gets the place.
	b.do(tab, chromedp.Click(chromedp.CSS(`[data-status="going"]`)))
	b.waitJS(tab, `document.getElementById('event-counts').textContent.startsWith('1 of 1') && !document.getElementById('event-counts').textContent.includes('waitlist')`)
	eval[bool](b, tab, `window.notReloaded = true`)
	// Bea, through the API, comes second.
	r := b.apiCall("PUT", "/events/"+eid+"/participants/"+bea, map[string]any{"status": "going"})
	if r["waitlisted"] != true {
		t.Errorf("the second to register: %v, want waitlisted", r)
	}
	b.waitJS(tab, `document.getElementById('event-counts').textContent === '1 of 1 places taken · 1 on the waitlist'`)
	if !eval[bool](b, tab, `window.notReloaded === true`) {
		t.Fatal("the event page reloaded instead of updating in place")
	}
	// Each identity sees its own answer.
	b.waitJS(tab, `document.getElementById('my-status').textContent.startsWith('Your answer') && !document.getElementById('my-status').textContent.includes('waitlist')`)
	eval[bool](b, tab, `(() => { const s = document.getElementById('identity'); s.value = `+jsString(bea)+`; s.dispatchEvent(new Event('change')); return true })()`)
	b.waitJS(tab, `document.getElementById('my-status').textContent.includes('you are on the waitlist') && document.querySelector('[data-status="going"]').getAttribute('aria-pressed') === 'true'`)
}

// TestBrowserHidden: a proposal a facilitator hides loses its text on the
// scribe view and the projection, both already open.
func TestBrowserHidden(t *testing.T) {
	b := newBrowserTest(t)
	sid := b.createSession("Moderated", "", 0)
	ana := b.apiCall("POST", "/identities", map[string]any{"name": "Ana"})["id"].(string)
	ga := b.apiCall("POST", "/groups", map[string]any{"name": "Group A", "as": ana})["id"].(string)
	secret := "Something that must not stay up"
	pid := b.apiCall("POST", "/sessions/"+sid+"/proposals", map[string]any{"group": ga, "text": secret})["id"].(string)

	scribe, proj := b.tab(), b.tab()
	b.do(scribe, chromedp.Navigate(b.url+"/s/"+sid))
	b.do(proj, chromedp.Navigate(b.url+"/s/"+sid+"/projection"))
	for _, tab := range []context.Context{scribe, proj} {
		b.waitJS(tab, `document.querySelector('#proposals li .ptext') && document.querySelector('#proposals li .ptext').textContent === `+jsString(secret))
		eval[bool](b, tab, `window.notReloaded = true`)
	}
	// The node's default identity founded the gathering: a facilitator.
	b.apiCall("PUT", "/hidden/"+pid, nil)
	hidden := jsString(mustCatalog(t, "en")["proposal.hidden"])
	for _, tab := range []context.Context{scribe, proj} {
		b.waitJS(tab, `document.querySelector('#proposals li .ptext').textContent === `+hidden)
		if eval[bool](b, tab, `document.getElementById('proposals').textContent.includes(`+jsString(secret)+`)`) {
			t.Error("the hidden text is still on the page")
		}
		if !eval[bool](b, tab, `window.notReloaded === true`) {
			t.Error("the page reloaded instead of updating in place")
		}
	}
	b.waitJS(scribe, `document.querySelector('#proposals li .actions button:nth-child(1)').disabled && document.querySelector('#proposals li .actions button:nth-child(2)').disabled`)
}

// browserTest is one node and one headless browser.
type browserTest struct {
	t       *testing.T
	url     string
	public  string // the read-only address, when the node has one
	token   string
	browser context.Context
	closers map[context.Context]func() // of the open tabs (see closeTab)
}

// newBrowserTest starts a node with extra arguments to `convene run`.
func newBrowserTest(t *testing.T, extra ...string) *browserTest {
	t.Helper()
	chromium := findChromium(t)
	b := &browserTest{t: t}
	b.url, b.public, b.token = startNode(t, extra...)

	b.browser = sharedBrowser(t, chromium)
	return b
}

// sharedBrowser starts one browser for all the tests of the run (TestMain
// stops it): starting Chromium is most of a test's time.
func sharedBrowser(t *testing.T, chromium string) context.Context {
	t.Helper()
	browserOnce.Do(func() {
		dir, err := os.MkdirTemp("", "convene-ui-chromium")
		if err != nil {
			browserErr = err
			return
		}
		opts := append(chromedp.DefaultExecAllocatorOptions[:],
			chromedp.ExecPath(chromium),
			chromedp.UserDataDir(dir),
			chromedp.Flag("headless", true),
			chromedp.Flag("no-sandbox", true),
			chromedp.Flag("disable-gpu", true),
			chromedp.Flag("disable-quic", true),
			chromedp.Flag("no-first-run", true),
			chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-sync", true),
			chromedp.Flag("lang", "en-US"),
			chromedp.WindowSize(1280, 800),
		)
		alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
		browser, cancelBrowser := chromedp.NewContext(alloc)
		browserStop = func() { cancelBrowser(); cancelAlloc(); os.RemoveAll(dir) }
		if err := chromedp.Do(browser); err != nil {
			browserErr = fmt.Errorf("starting %s: %w", chromium, err)
			return
		}
		browserCtx = browser
	})
	if browserErr != nil {
		t.Fatal(browserErr)
	}
	return browserCtx
}

// tab opens a new tab in the browser. A script error in the tab fails the
// test.
func (b *browserTest) tab() context.Context {
	ctx, cancel := chromedp.NewContext(b.browser)
	if err := chromedp.Do(ctx); err != nil {
		b.t.Fatalf("new tab: %v", err)
	}
	exceptions := chromedp.Events(ctx, runtime.ExceptionThrown)
	var mu sync.Mutex
	var errs []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev, err := range exceptions {
			if err != nil {
				return
			}
			d := ev.ExceptionDetails
			msg := d.Text
			if d.Exception != nil && d.Exception.Description != "" {
				msg += " " + d.Exception.Description
			}
			mu.Lock()
			errs = append(errs, fmt.Sprintf("%s:%d: %s", d.URL, d.LineNumber+1, msg))
			mu.Unlock()
		}
	}()
	var once sync.Once
	closeTab := func() {
		once.Do(func() {
			cancel()
			<-done
			for _, e := range errs {
				b.t.Errorf("script error: %s", e)
			}
		})
	}
	b.t.Cleanup(closeTab)
	if b.closers == nil {
		b.closers = map[context.Context]func(){}
	}
	b.closers[ctx] = closeTab
	return ctx
}

// closeTab closes a tab now rather than at the end of the test. A test
// that opens a tab per language or viewport must: each open page holds an
// event stream, and the node allows a client few streams (web/limits.go)
// while Chromium allows a host only six connections, so tabs left open
// starve the next page.
func (b *browserTest) closeTab(tab context.Context) {
	if c := b.closers[tab]; c != nil {
		delete(b.closers, tab)
		c()
	}
}

func (b *browserTest) do(tab context.Context, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(tab, waitLimit)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("browser: %v", err)
	}
}

// eval evaluates a JavaScript expression in the tab.
func eval[T any](b *browserTest, tab context.Context, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(tab, waitLimit)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// waitJS waits until expr is true in the tab.
func (b *browserTest) waitJS(tab context.Context, expr string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(tab, waitLimit)
	defer cancel()
	var err error
	for ctx.Err() == nil {
		// A poll fails while the page navigates; look again in the new page.
		_, err = chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(waitLimit)))
		if err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		body, _ := chromedp.Run(tab, chromedp.Evaluate[string](`document.body ? document.body.innerText.slice(0, 3000) : ''`))
		b.t.Fatalf("waiting for %s: %v\npage text:\n%s", expr, err, body)
	}
}

func jsString(s string) string {
	j, _ := json.Marshal(s)
	return string(j)
}

// screenshot writes the tab at desktop and phone sizes, scrolled to the
// element with id top (or to the top of the page).
func (b *browserTest) screenshot(tab context.Context, name, top string) {
	b.t.Helper()
	dir := filepath.Join("..", "..", "docs", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Fatal(err)
	}
	for _, size := range []struct {
		suffix string
		w, h   int64
		mobile bool
	}{{"desktop", 1280, 800, false}, {"phone", 390, 844, true}} {
		vp := []chromedp.EmulateViewportOption{}
		if size.mobile {
			vp = append(vp, chromedp.EmulateMobile)
		}
		b.do(tab, chromedp.EmulateViewport(size.w, size.h, vp...))
		eval[bool](b, tab, `(document.getElementById(`+jsString(top)+`) ? document.getElementById(`+jsString(top)+`).scrollIntoView() : window.scrollTo(0, 0)), true`)
		time.Sleep(3 * time.Second) // let the layout and any highlight settle
		ctx, cancel := context.WithTimeout(tab, waitLimit)
		png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		cancel()
		if err != nil {
			b.t.Fatal(err)
		}
		path := filepath.Join(dir, name+"-"+size.suffix+".png")
		if err := os.WriteFile(path, png, 0o644); err != nil {
			b.t.Fatal(err)
		}
		b.t.Logf("wrote %s", path)
	}
	b.do(tab, chromedp.EmulateViewport(1280, 800))
}

func (b *browserTest) createSession(title, prompt string, cap int) string {
	body := map[string]any{"title": title}
	if prompt != "" {
		body["prompt"] = prompt
	}
	if cap > 0 {
		body["cap"] = cap
	}
	return b.apiCall("POST", "/sessions", body)["id"].(string)
}

// apiCall calls the node's API with its token and decodes a JSON object.
func (b *browserTest) apiCall(method, path string, body any) map[string]any {
	b.t.Helper()
	var j []byte
	if body != nil {
		j, _ = json.Marshal(body)
	}
	data := b.raw(method, path, j, "application/json")
	out := map[string]any{}
	if len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, &out); err != nil {
			b.t.Fatalf("%s %s: %v: %s", method, path, err, data)
		}
	}
	return out
}

func findChromium(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	t.Skip("browser tests need Chromium: install it (apt-get install chromium) to run them")
	return ""
}

// startNode starts `convene run` (with extra arguments) on a fresh data
// directory and returns its UI URL, its public URL (if it prints one) and
// its API token.
func startNode(t *testing.T, extra ...string) (url, public, token string) {
	t.Helper()
	if u := os.Getenv("CONVENE_UI_URL"); u != "" {
		return strings.TrimRight(u, "/"), "", os.Getenv("CONVENE_API_TOKEN")
	}
	return startNodeIn(t, t.TempDir(), extra...)
}

// startNodeIn is startNode on the data directory dir.
func startNodeIn(t *testing.T, dir string, extra ...string) (url, public, token string) {
	t.Helper()
	return startNodeEnv(t, dir, nil, extra...)
}

// startNodeEnv is startNodeIn with env (KEY=VALUE) added to the node's
// environment.
func startNodeEnv(t *testing.T, dir string, env []string, extra ...string) (url, public, token string) {
	t.Helper()
	bin := convenebinary(t)
	args := append([]string{"run", "--data", dir, "--ui", "127.0.0.1:0", "--no-mdns", "--listen", "/ip4/127.0.0.1/tcp/0"}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting convene: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	// The public: line follows the ui: line when there is a public address.
	wantPublic := slices.Contains(extra, "--ui-public")
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default: // nobody listens any more; keep the pipe drained
			}
		}
	}()
	timeout := time.After(waitLimit)
	for url == "" || (wantPublic && public == "") {
		select {
		case l := <-lines:
			if u, ok := strings.CutPrefix(l, "ui: "); ok {
				url = strings.TrimRight(strings.TrimSpace(u), "/")
			}
			if u, ok := strings.CutPrefix(l, "public: "); ok {
				public = strings.TrimRight(strings.TrimSpace(u), "/")
			}
		case <-exited:
			t.Fatalf("convene run exited: %s", stderr.String())
		case <-timeout:
			t.Fatalf("convene run printed no ui: (or public:) line: %s", stderr.String())
		}
	}
	tok, err := os.ReadFile(filepath.Join(dir, "api-token"))
	if err != nil {
		t.Fatalf("reading the API token: %v", err)
	}
	return url, public, strings.TrimSpace(string(tok))
}

// convenebinary builds cmd/convene once per test binary run.
func convenebinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "convene-ui-test")
		if err != nil {
			buildErr = err
			return
		}
		buildBin = filepath.Join(dir, "convene")
		cmd := exec.Command("go", "build", "-o", buildBin, "github.com/convene/convene/cmd/convene")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("%v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Skipf("browser tests run against `convene run`, and cmd/convene does not build: %v", buildErr)
	}
	return buildBin
}
