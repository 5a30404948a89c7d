package ui

// Browser tests of the room's experience: the projection on a 1280×800
// projector, the phone that scans its code, the scribe page on a phone, a
// proposal left waiting after two laptops merge.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// langsEnLast are the languages every page change is tried in. English
// comes last: the language choice is a cookie of the browser, which every
// test of the run shares, and the older tests expect English.
var langsEnLast = []string{"es", "en"}

// viewports are the sizes every page change is tried at.
var viewports = []struct {
	name   string
	w, h   int64
	mobile bool
}{{"desktop", 1280, 800, false}, {"phone", 390, 844, true}}

func (b *browserTest) viewport(tab context.Context, w, h int64, mobile bool) {
	b.t.Helper()
	var opts []chromedp.EmulateViewportOption
	if mobile {
		opts = append(opts, chromedp.EmulateMobile)
	}
	b.do(tab, chromedp.EmulateViewport(w, h, opts...))
}

// msg fills a catalog message's {name} placeholders.
func msg(cat map[string]string, key string, vars ...string) string {
	s, ok := cat[key]
	if !ok {
		panic("no message " + key)
	}
	for i := 0; i+1 < len(vars); i += 2 {
		s = strings.ReplaceAll(s, "{"+vars[i]+"}", vars[i+1])
	}
	return s
}

// TestBrowserProjectionTenProposals: ten proposals, some endorsed by many
// groups, fit one 1280×800 screen in type still
// readable from the back, naming who endorsed and who wrote each text, in
// English and Spanish; the site menu stays off the projector until the
// operator asks.
func TestBrowserProjectionTenProposals(t *testing.T) {
	// With a public address, as in a room: the screen shows its QR code too.
	b := newBrowserTest(t, "--ui-public", "127.0.0.1:0")
	sid := b.createSession("Neighbourhood plan", "What should the city fund first?", 10)
	names := []string{"Water", "Housing", "Transit", "Schools", "Markets", "Parks", "Health", "Culture", "Elders", "Youth"}
	// One scribe per group: an identity founds at most three.
	gid, scribe := map[string]string{}, map[string]string{}
	for _, n := range names {
		scribe[n] = b.apiCall("POST", "/identities", map[string]any{"name": "Scribe of " + n})["id"].(string)
		gid[n] = b.apiCall("POST", "/groups", map[string]any{"name": n, "as": scribe[n]})["id"].(string)
	}
	texts := []string{
		"Repair the public fountains and keep them running through the summer",
		"Turn the empty office block on Main Street into cooperative housing",
		"Night buses every 20 minutes on the three busiest lines",
		"Open the school yards to everyone on weekends",
		"A covered market hall for local growers, open four days a week",
		"Plant a tree on every street that has none, starting with the south side",
		"A walk-in clinic in each district, open evenings",
		"Free rehearsal rooms for bands and theatre groups",
		"Benches and shade every 200 metres on the main walking routes",
		"A youth council with its own budget line",
	}
	pids := make([]string, len(texts))
	for i, text := range texts {
		p := b.apiCall("POST", "/sessions/"+sid+"/proposals", map[string]any{"group": gid[names[i]], "text": text, "as": scribe[names[i]]})
		pids[i] = p["id"].(string)
		// Proposal i gets i more endorsing groups besides its author's.
		for j := 1; j <= i%6; j++ {
			g := names[(i+j)%len(names)]
			b.apiCall("PUT", "/proposals/"+pids[i]+"/endorsements/"+gid[g]+"?as="+scribe[g], nil)
		}
	}

	for _, lang := range langsEnLast {
		cat := mustCatalog(t, lang)
		tab := b.tab()
		b.viewport(tab, 1280, 800, false)
		b.do(tab, chromedp.Navigate(b.url+"/s/"+sid+"/projection?lang="+lang))
		b.waitJS(tab, `document.querySelectorAll('#proposals > li').length === 10 && document.getElementById('session-title').textContent === 'Neighbourhood plan'`)
		// Proposal 5 (Parks) is endorsed by Parks, Health, Culture, Elders,
		// Youth and Water: listed by name, not by id or age.
		want := msg(cat, "projection.endorsed_by", "groups", "Culture, Elders, Health, Parks, Water, Youth")
		sel := `#proposals li[data-id="` + pids[5] + `"]`
		b.waitJS(tab, `document.querySelector('`+sel+` .endorsers').textContent === `+jsString(want))
		if got := eval[string](b, tab, `document.querySelector('`+sel+` .author').textContent`); got != msg(cat, "projection.written_by", "group", "Parks") {
			t.Errorf("%s: author line %q", lang, got)
		}

		// One screen: nothing below the fold, no scrolling, type at least
		// 20 px (the proposal's own text).
		b.waitJS(tab, `document.documentElement.scrollHeight <= window.innerHeight && !document.body.classList.contains('scrolls')`)
		bottom := eval[float64](b, tab, `Math.max(...[...document.querySelectorAll('#proposals > li')].map(li => li.getBoundingClientRect().bottom))`)
		if bottom > 800 {
			t.Errorf("%s: the last proposal ends at %.0f px on an 800 px screen", lang, bottom)
		}
		if px := eval[float64](b, tab, `parseFloat(getComputedStyle(document.querySelector('#proposals .ptext')).fontSize)`); px < 20 {
			t.Errorf("%s: proposal text is %.1f px, too small for the back of the room", lang, px)
		}

		// A clean kiosk: no menu or language links until the operator asks.
		const menuShown = `getComputedStyle(document.getElementById('top-nav')).display !== 'none'`
		if eval[bool](b, tab, menuShown) {
			t.Errorf("%s: the site menu is on the projector", lang)
		}
		b.do(tab, chromedp.KeyEvent("m"))
		b.waitJS(tab, menuShown)
		b.do(tab, chromedp.KeyEvent(kb.Escape))
		b.waitJS(tab, `!(`+menuShown+`)`)
		b.do(tab, chromedp.Click(chromedp.ID("kiosk-toggle")))
		b.waitJS(tab, menuShown+` && document.getElementById('kiosk-toggle').getAttribute('aria-expanded') === 'true'`)
		b.do(tab, chromedp.Click(chromedp.ID("kiosk-toggle")))
		b.waitJS(tab, `!(`+menuShown+`)`)

		// On a phone it is an ordinary page that scrolls, in one column.
		b.viewport(tab, 390, 844, true)
		b.waitJS(tab, `!document.getElementById('proposals').classList.contains('two-col') && document.documentElement.scrollHeight > window.innerHeight`)
		b.viewport(tab, 1280, 800, false)
		b.waitJS(tab, `document.documentElement.scrollHeight <= window.innerHeight`)

		if lang == "en" && os.Getenv("CONVENE_SCREENSHOTS") != "" {
			b.screenshot(tab, "projection-10", "")
		}
		b.closeTab(tab)
	}
}

// TestBrowserJoinQR: the code on the projection, read from the screen as a
// phone would, opens this session's live projection on the public
// address; the public address's front page lists what it serves.
func TestBrowserJoinQR(t *testing.T) {
	b := newBrowserTest(t, "--ui-public", "127.0.0.1:0")
	if b.public == "" {
		t.Skip("no public address (CONVENE_UI_URL runs against a node without one)")
	}
	b.createSession("Another session", "", 0)
	sid := b.createSession("Open square", "", 0)
	ana := b.apiCall("POST", "/identities", map[string]any{"name": "Ana"})["id"].(string)
	ga := b.apiCall("POST", "/groups", map[string]any{"name": "Group A", "as": ana})["id"].(string)
	b.apiCall("POST", "/sessions/"+sid+"/proposals", map[string]any{"group": ga, "text": "Trees along the edge"})

	proj := b.tab()
	b.viewport(proj, 1280, 800, false)
	b.do(proj, chromedp.Navigate(b.url+"/s/"+sid+"/projection"))
	b.waitJS(proj, `document.querySelector('.join img') && document.querySelector('.join img').complete && document.querySelector('.join img').naturalWidth > 0`)
	// Read as a phone would, again while the page may still be laying
	// itself out (the projection fits its text to the screen): a capture
	// taken mid-change can be unreadable, as a camera's is while it
	// moves. A page whose code never reads fails at waitLimit.
	var scanned string
	deadline := time.Now().Add(waitLimit)
	for {
		ctx, cancel := context.WithTimeout(proj, waitLimit)
		shot, err := chromedp.Run(ctx, chromedp.ScreenshotScale(chromedp.CSS(".join img"), 2))
		cancel()
		if err == nil {
			scanned, err = readQR(shot)
		}
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	want := b.public + "/s/" + sid + "/projection"
	if scanned != want {
		t.Fatalf("the code opens %q, want %q", scanned, want)
	}

	for _, lang := range langsEnLast {
		phone := b.tab()
		b.viewport(phone, 390, 844, true)
		u, _ := url.Parse(scanned)
		u.RawQuery = "lang=" + lang
		b.do(phone, chromedp.Navigate(u.String()))
		b.waitJS(phone, `document.getElementById('session-title').textContent === 'Open square' && document.querySelector('#proposals li .ptext') && document.querySelector('#proposals li .ptext').textContent === 'Trees along the edge'`)

		// The bare public address: a page, not JSON, listing the sessions'
		// projections and the events.
		b.do(phone, chromedp.Navigate(b.public+"/?lang="+lang))
		b.waitJS(phone, `document.querySelectorAll('#sessions a').length === 2`)
		if h1 := eval[string](b, phone, `document.querySelector('h1').textContent`); h1 != mustCatalog(t, lang)["public.title"] {
			t.Errorf("%s: the public front page says %q", lang, h1)
		}
		b.waitJS(phone, `document.querySelector('a[href="/events"]') !== null`)
		b.do(phone, chromedp.Click(chromedp.CSS(`#sessions a[href="/s/`+sid+`/projection"]`)))
		b.waitJS(phone, `location.pathname === '/s/`+sid+`/projection' && document.getElementById('session-title').textContent === 'Open square'`)
		b.closeTab(phone)
	}
	res, err := http.Get(b.public + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Errorf("public /: %s %s", res.Status, res.Header.Get("Content-Type"))
	}
}

// TestBrowserScribeRoom: on a phone "Who is writing" folds to one line
// once chosen; our endorsement is marked in words; endorsing groups are in
// name order; Comments and History show counts; the textarea takes what
// the API takes and a text over its 8,000 bytes is refused before sending.
func TestBrowserScribeRoom(t *testing.T) {
	b := newBrowserTest(t)
	sid := b.createSession("Market day", "", 0)
	for _, lang := range langsEnLast {
		cat := mustCatalog(t, lang)
		who := "Ana " + lang
		group := "Group " + lang
		tab := b.tab()
		b.viewport(tab, 390, 844, true)
		b.do(tab, chromedp.Navigate(b.url+"/s/"+sid+"?lang="+lang))
		b.waitJS(tab, `document.getElementById('session-title').textContent === 'Market day' && document.getElementById('identity').options.length > 0`)
		// The previous round's choice is remembered (and folded): open it.
		if eval[bool](b, tab, `document.getElementById('you').classList.contains('folded')`) {
			b.do(tab, chromedp.Click(chromedp.ID("you-change")))
		}
		b.do(tab,
			chromedp.SendKeys(chromedp.ID("new-identity"), who),
			chromedp.Click(chromedp.CSS("#identity-form button")),
		)
		b.waitJS(tab, `document.querySelector('#identity option:checked') && document.querySelector('#identity option:checked').textContent === `+jsString(who))
		b.do(tab,
			chromedp.SendKeys(chromedp.ID("new-group"), group),
			chromedp.Click(chromedp.CSS("#group-form button")),
		)
		// Folded: one line, and the proposals start on the first screen.
		summary := msg(cat, "scribe.writing_as", "identity", who, "group", group)
		b.waitJS(tab, `document.getElementById('you-summary').textContent === `+jsString(summary)+` && getComputedStyle(document.getElementById('you-fields')).display === 'none'`)
		if h := eval[float64](b, tab, `document.getElementById('you').getBoundingClientRect().height`); h > 120 {
			t.Errorf("%s: the folded panel is %.0f px tall", lang, h)
		}
		if top := eval[float64](b, tab, `document.getElementById('h-proposals').getBoundingClientRect().top + scrollY`); top > 844 {
			t.Errorf("%s: the proposals start %.0f px down on an 844 px phone", lang, top)
		}
		b.do(tab, chromedp.Click(chromedp.ID("you-change")))
		b.waitJS(tab, `getComputedStyle(document.getElementById('you-fields')).display !== 'none' && document.activeElement === document.getElementById('identity')`)
		b.do(tab, chromedp.Click(chromedp.ID("you-change")))
		b.waitJS(tab, `getComputedStyle(document.getElementById('you-fields')).display === 'none'`)
		// A desktop shows the whole panel.
		b.viewport(tab, 1280, 800, false)
		b.waitJS(tab, `getComputedStyle(document.getElementById('you-fields')).display !== 'none' && getComputedStyle(document.querySelector('.you-summary')).display === 'none'`)
		b.viewport(tab, 390, 844, true)

		// The textarea takes what the API takes.
		if n := eval[int](b, tab, `document.getElementById('proposal-text').maxLength`); n != 8000 {
			t.Errorf("%s: textarea maxlength %d, want 8000", lang, n)
		}
		// 2,700 × "€" is 2,700 characters but 8,100 bytes: refused here,
		// with the numbers, and nothing sent.
		eval[bool](b, tab, `(() => { document.getElementById('proposal-text').value = '€'.repeat(2700); return true })()`)
		b.do(tab, chromedp.Click(chromedp.ID("propose-button")))
		b.waitJS(tab, `document.getElementById('propose-error').textContent === `+jsString(msg(cat, "proposal.too_long", "n", "8100", "max", "8000")))
		long := strings.Repeat("Stalls for every neighbourhood. ", 190) // 6,080 bytes
		eval[bool](b, tab, `(() => { document.getElementById('proposal-text').value = `+jsString(long)+`; return true })()`)
		b.do(tab, chromedp.Click(chromedp.ID("propose-button")))
		sel := `[...document.querySelectorAll('#proposals > li')].find(li => li.querySelector('.ptext').textContent === ` + jsString(strings.TrimSpace(long)) + `)`
		b.waitJS(tab, sel+` !== undefined`)
		pid := eval[string](b, tab, sel+`.dataset.id`)
		item := `document.querySelector('#proposals li[data-id="` + pid + `"]')`

		// Proposing endorses: the page says so in words.
		ours := msg(cat, "proposal.ours", "group", group)
		b.waitJS(tab, item+`.querySelector('.badge.ours').textContent === `+jsString(ours)+` && !`+item+`.querySelector('.badge.ours').hidden`)
		b.waitJS(tab, item+`.querySelector('.actions button:nth-child(3)').textContent === `+jsString(msg(cat, "proposal.history_n", "n", "1")))
		b.waitJS(tab, item+`.querySelector('.actions button:nth-child(4)').textContent === `+jsString(msg(cat, "proposal.comments_n", "n", "0")))

		// Two more groups, created in the opposite order of their names,
		// endorse; a comment and an edit come in from elsewhere.
		zed := b.apiCall("POST", "/groups", map[string]any{"name": "Zed " + lang})["id"].(string)
		abe := b.apiCall("POST", "/groups", map[string]any{"name": "Abe " + lang})["id"].(string)
		b.apiCall("PUT", "/proposals/"+pid+"/endorsements/"+zed, nil)
		b.apiCall("PUT", "/proposals/"+pid+"/endorsements/"+abe, nil)
		b.apiCall("POST", "/proposals/"+pid+"/comments", map[string]any{"text": "Yes, and music"})
		byWant := msg(cat, "proposal.endorsed_by", "groups", "Abe "+lang+", "+group+", Zed "+lang)
		b.waitJS(tab, item+`.querySelector('.by').textContent === `+jsString(byWant))
		b.waitJS(tab, item+`.querySelector('.actions button:nth-child(4)').textContent === `+jsString(msg(cat, "proposal.comments_n", "n", "1")))
		rev := b.apiCall("GET", "/proposals/"+pid, nil)["revision"].(string)
		b.apiCall("POST", "/proposals/"+pid+"/revisions", map[string]any{"group": zed, "text": "Stalls in every neighbourhood", "base": []string{rev}})
		b.waitJS(tab, item+`.querySelector('.actions button:nth-child(3)').textContent === `+jsString(msg(cat, "proposal.history_n", "n", "2")))
		// The edit cleared our endorsement: the mark goes.
		b.waitJS(tab, item+`.querySelector('.badge.ours').hidden`)

		if lang == "en" && os.Getenv("CONVENE_SCREENSHOTS") != "" {
			b.screenshot(tab, "scribe-room", "")
		}
		b.closeTab(tab)
	}
}

// TestBrowserWaitingProposal: two laptops of one gathering, apart, each
// accept the last place of a session; when their work meets (here by
// carrying a bundle each way) one proposal waits, and its group's page
// says so in words with the way out. Then both edit the proposal in at
// once: the projection says, in words, that two versions are being merged.
func TestBrowserWaitingProposal(t *testing.T) {
	if os.Getenv("CONVENE_UI_URL") != "" {
		t.Skip("needs two nodes of its own")
	}
	chromium := findChromium(t)
	bin := convenebinary(t)
	dirA, dirB := twoLaptops(t, bin, "Twin halls")
	a, b := &browserTest{t: t}, &browserTest{t: t}
	a.url, _, a.token = startNodeIn(t, dirA)
	b.url, _, b.token = startNodeIn(t, dirB)
	a.browser = sharedBrowser(t, chromium)
	b.browser = a.browser

	sid := a.createSession("One place left", "", 1)
	carry(t, a, b)
	ga := a.apiCall("POST", "/groups", map[string]any{"name": "Hall A"})["id"].(string)
	gb := b.apiCall("POST", "/groups", map[string]any{"name": "Hall B"})["id"].(string)
	a.apiCall("POST", "/sessions/"+sid+"/proposals", map[string]any{"group": ga, "text": "Keep the hall open late"})
	b.apiCall("POST", "/sessions/"+sid+"/proposals", map[string]any{"group": gb, "text": "Childcare during the plenary"})
	carry(t, a, b)
	carry(t, b, a)

	doc := a.apiCall("GET", "/sessions/"+sid+"/document", nil)
	waiting, _ := doc["waiting"].([]any)
	if len(waiting) != 1 {
		t.Fatalf("waiting after the merge: %v", doc["waiting"])
	}
	w := waiting[0].(map[string]any)
	// The page of the laptop whose group's proposal waits.
	node, name := a, "Hall A"
	if w["group"] == gb {
		node, name = b, "Hall B"
	}
	other := b
	if node == b {
		other = a
	}
	for _, lang := range langsEnLast {
		want := msg(mustCatalog(t, lang), "scribe.my_waiting", "group", name, "text", w["text"].(string))
		for _, vp := range viewports {
			tab := node.tab()
			node.viewport(tab, vp.w, vp.h, vp.mobile)
			node.do(tab, chromedp.Navigate(node.url+"/s/"+sid+"?lang="+lang))
			node.waitJS(tab, `!document.getElementById('my-waiting').hidden && document.getElementById('my-waiting').textContent === `+jsString(want))
			// Near the top, where the group looks first.
			if top := eval[float64](node, tab, `document.getElementById('my-waiting').getBoundingClientRect().top`); top > float64(vp.h) {
				t.Errorf("%s %s: the waiting notice is %.0f px down", lang, vp.name, top)
			}
			node.closeTab(tab)
		}
	}
	// The other laptop's groups have nothing waiting: no notice there.
	tab := other.tab()
	other.do(tab, chromedp.Navigate(other.url+"/s/"+sid))
	other.waitJS(tab, `document.querySelectorAll('#waiting li').length === 1`)
	if !eval[bool](other, tab, `document.getElementById('my-waiting').hidden`) {
		t.Error("a group with nothing waiting is told it waits")
	}
	other.closeTab(tab)

	// Both halls edit the proposal that is in, apart; then meet again.
	in := doc["proposals"].([]any)[0].(map[string]any)
	pid, rev := in["id"].(string), in["revision"].(string)
	a.apiCall("POST", "/proposals/"+pid+"/revisions", map[string]any{"group": ga, "text": "Keep the hall open late, with childcare", "base": []string{rev}})
	b.apiCall("POST", "/proposals/"+pid+"/revisions", map[string]any{"group": gb, "text": "Keep the hall open late and look after the children", "base": []string{rev}})
	carry(t, a, b)
	carry(t, b, a)
	for _, lang := range langsEnLast {
		cat := mustCatalog(t, lang)
		for _, vp := range viewports {
			proj := a.tab()
			a.viewport(proj, vp.w, vp.h, vp.mobile)
			a.do(proj, chromedp.Navigate(a.url+"/s/"+sid+"/projection?lang="+lang))
			a.waitJS(proj, `document.querySelector('#proposals li .merging') && document.querySelector('#proposals li .merging').textContent === `+jsString(msg(cat, "projection.merging.other", "n", "2")))
			a.waitJS(proj, `getComputedStyle(document.querySelector('#proposals li .merging')).display !== 'none'`)
			a.closeTab(proj)
		}
	}
}

// carry exports everything from one node as a bundle and imports it into
// another, as a USB stick would.
func carry(t *testing.T, from, to *browserTest) {
	t.Helper()
	bundle := from.raw("GET", "/export?format=bundle", nil, "")
	to.raw("POST", "/import", bundle, "")
}

// raw calls the node's API with its token and returns the answer's body;
// contentType may be "".
func (b *browserTest) raw(method, path string, body []byte, contentType string) []byte {
	b.t.Helper()
	req, err := http.NewRequest(method, b.url+"/api/v1"+path, bytes.NewReader(body))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+b.token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 300 {
		b.t.Fatalf("%s %s: %s %s", method, path, res.Status, data)
	}
	return data
}

// twoLaptops makes a gathering named name in a data directory with the
// identity Ana, and joins a second directory to it with the identity Bea
// through the invite `convene init` printed.
func twoLaptops(t *testing.T, bin, name string) (dirA, dirB string) {
	t.Helper()
	dirA, dirB = t.TempDir(), t.TempDir()
	out, err := runCLI(bin, "init", "--data", dirA, "--name", name, "--identity", "Ana")
	if err != nil {
		t.Fatalf("init: %v\n%s", err, out)
	}
	var invite string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "convene:") {
			invite = strings.TrimSpace(l)
		}
	}
	if invite == "" {
		t.Fatalf("convene init printed no invite:\n%s", out)
	}
	if out, err := runCLI(bin, "join", "--data", dirB, "--identity", "Bea", invite); err != nil {
		t.Fatalf("join: %v\n%s", err, out)
	}
	return dirA, dirB
}

func runCLI(bin string, args ...string) (string, error) {
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("convene %s: %w", strings.Join(args, " "), err)
	}
	return string(out), nil
}

// TestBrowserScribeKeyboard: the scribe's flow with the keyboard alone:
// every control reached with Tab, used with typing and Enter.
func TestBrowserScribeKeyboard(t *testing.T) {
	b := newBrowserTest(t)
	sid := b.createSession("Keys only", "", 0)
	for _, vp := range viewports {
		tab := b.tab()
		b.viewport(tab, vp.w, vp.h, vp.mobile)
		b.do(tab, chromedp.Navigate(b.url+"/s/"+sid))
		b.waitJS(tab, `document.getElementById('session-title').textContent === 'Keys only' && document.getElementById('identity').options.length > 0`)
		if eval[bool](b, tab, `document.getElementById('you').classList.contains('folded')`) {
			b.tabTo(tab, `document.getElementById('you-change')`)
			b.do(tab, chromedp.KeyEvent(kb.Enter))
		}
		who, group := "Kim "+vp.name, "Keys "+vp.name
		b.tabTo(tab, `document.getElementById('new-identity')`)
		b.do(tab, chromedp.KeyEvent(who+kb.Enter))
		b.waitJS(tab, `document.querySelector('#identity option:checked').textContent === `+jsString(who))
		b.tabTo(tab, `document.getElementById('new-group')`)
		b.do(tab, chromedp.KeyEvent(group+kb.Enter))
		b.waitJS(tab, `!document.getElementById('propose-button').disabled && document.querySelector('#group option:checked').textContent === `+jsString(group))
		text := "Typed without a mouse, " + vp.name
		b.tabTo(tab, `document.getElementById('proposal-text')`)
		b.do(tab, chromedp.KeyEvent(text))
		b.tabTo(tab, `document.getElementById('propose-button')`)
		b.do(tab, chromedp.KeyEvent(kb.Enter))
		found := `[...document.querySelectorAll('#proposals > li')].find(li => li.querySelector('.ptext').textContent === ` + jsString(text) + `)`
		b.waitJS(tab, found+` !== undefined`)
		item := `document.querySelector('#proposals li[data-id="` + eval[string](b, tab, found+`.dataset.id`) + `"]')`
		b.waitJS(tab, `!`+item+`.querySelector('.badge.ours').hidden`)
		// Withdraw and endorse again, from the keyboard.
		b.tabTo(tab, item+`.querySelector('.actions button:nth-child(1)')`)
		b.do(tab, chromedp.KeyEvent(kb.Enter))
		b.waitJS(tab, item+`.querySelector('.badge.ours').hidden`)
		b.do(tab, chromedp.KeyEvent(kb.Enter))
		b.waitJS(tab, `!`+item+`.querySelector('.badge.ours').hidden`)
		// Edit: the editor takes the focus; Tab reaches Save.
		b.tabTo(tab, item+`.querySelector('.actions button:nth-child(2)')`)
		b.do(tab, chromedp.KeyEvent(kb.Enter))
		b.waitJS(tab, `document.activeElement === `+item+`.querySelector('form.editor textarea')`)
		b.do(tab, chromedp.KeyEvent(" (edited)"))
		b.tabTo(tab, item+`.querySelector('form.editor button[type=submit]')`)
		b.do(tab, chromedp.KeyEvent(kb.Enter))
		b.waitJS(tab, item+`.querySelector('.ptext').textContent === `+jsString(text+" (edited)"))
		b.closeTab(tab)
	}
}

// tabTo presses Tab until the element target (a JavaScript expression)
// has the focus, and fails if forty presses do not reach it.
func (b *browserTest) tabTo(tab context.Context, target string) {
	b.t.Helper()
	for range 40 {
		if eval[bool](b, tab, `document.activeElement === (`+target+`)`) {
			return
		}
		b.do(tab, chromedp.KeyEvent(kb.Tab))
	}
	b.t.Fatalf("Tab does not reach %s (the focus is on %s)", target, eval[string](b, tab, `document.activeElement.outerHTML.slice(0, 120)`))
}

// TestBrowserEventCounts: no "0 maybe"; a cancelled event offers no places
// and no waitlist, on its page and in the list.
func TestBrowserEventCounts(t *testing.T) {
	b := newBrowserTest(t)
	eid := b.apiCall("POST", "/events", map[string]any{"title": "Seed swap", "start": "2031-07-01T16:00:00Z", "end": "2031-07-01T18:00:00Z", "timezone": "UTC", "capacity": 1})["id"].(string)
	bea := b.apiCall("POST", "/identities", map[string]any{"name": "Bea"})["id"].(string)
	cy := b.apiCall("POST", "/identities", map[string]any{"name": "Cy"})["id"].(string)
	b.apiCall("PUT", "/events/"+eid+"/participants/"+bea, map[string]any{"status": "going"})
	b.apiCall("PUT", "/events/"+eid+"/participants/"+cy, map[string]any{"status": "going"})
	for _, lang := range langsEnLast {
		cat := mustCatalog(t, lang)
		tab := b.tab()
		b.do(tab, chromedp.Navigate(b.url+"/events/"+eid+"?lang="+lang))
		want := msg(cat, "event.going_of", "n", "1", "cap", "1") + " · " + msg(cat, "event.waitlist", "n", "1")
		b.waitJS(tab, `document.getElementById('event-counts').textContent === `+jsString(want))
		b.closeTab(tab)
	}
	b.apiCall("PATCH", "/events/"+eid, map[string]any{"status": "cancelled"})
	for _, lang := range langsEnLast {
		cat := mustCatalog(t, lang)
		tab := b.tab()
		b.do(tab, chromedp.Navigate(b.url+"/events/"+eid+"?lang="+lang))
		b.waitJS(tab, `document.getElementById('event-counts').textContent === `+jsString(cat["status.cancelled"]))
		b.do(tab, chromedp.Navigate(b.url+"/events?lang="+lang))
		b.waitJS(tab, `document.querySelector('.event-card .counts') && document.querySelector('.event-card .counts').textContent === `+jsString(cat["status.cancelled"]))
		b.closeTab(tab)
	}
}

// TestBrowserFirstRun: a laptop alone in its gathering says how to invite
// people, and links the page with the invite's QR code.
func TestBrowserFirstRun(t *testing.T) {
	b := newBrowserTest(t)
	for _, lang := range langsEnLast {
		cat := mustCatalog(t, lang)
		tab := b.tab()
		b.do(tab, chromedp.Navigate(b.url+"/?lang="+lang))
		b.waitJS(tab, `!document.getElementById('first-run').hidden && document.getElementById('first-run').textContent.startsWith(`+jsString(cat["home.first_run"])+`)`)
		b.do(tab, chromedp.Click(chromedp.CSS(`#first-run a`)))
		b.waitJS(tab, `location.pathname === '/network' && document.getElementById('peer-id').textContent !== ''`)
		b.closeTab(tab)
	}
}

// TestBrowserEventsPastApart: upcoming events come first; past ones are
// listed apart, under their own heading, latest first.
func TestBrowserEventsPastApart(t *testing.T) {
	b := newBrowserTest(t)
	for _, e := range []struct{ title, start, end string }{
		{"Old assembly", "2020-03-01T10:00:00Z", "2020-03-01T12:00:00Z"},
		{"Older assembly", "2019-03-01T10:00:00Z", "2019-03-01T12:00:00Z"},
		{"Future fair", "2031-03-01T10:00:00Z", "2031-03-01T12:00:00Z"},
	} {
		b.apiCall("POST", "/events", map[string]any{"title": e.title, "start": e.start, "end": e.end, "timezone": "UTC"})
	}
	for _, lang := range langsEnLast {
		tab := b.tab()
		b.do(tab, chromedp.Navigate(b.url+"/events?lang="+lang))
		b.waitJS(tab, `document.querySelectorAll('#days .event-card').length === 1 && document.querySelectorAll('#past .event-card').length === 2 && !document.getElementById('past').hidden`)
		if got := eval[string](b, tab, `document.getElementById('days').textContent`); !strings.Contains(got, "Future fair") {
			t.Errorf("%s: upcoming: %q", lang, got)
		}
		if got := eval[[]string](b, tab, `[...document.querySelectorAll('#past .event-card h3, #past .event-card a')].map(e => e.textContent).filter(s => s.includes('assembly'))`); len(got) < 2 || !strings.Contains(got[0], "Old assembly") {
			t.Errorf("%s: past events in order %q, want the latest first", lang, got)
		}
		if h := eval[string](b, tab, `document.getElementById('h-past').textContent`); h != mustCatalog(t, lang)["events.past"] {
			t.Errorf("%s: past heading %q", lang, h)
		}
		if !eval[bool](b, tab, `!!(document.getElementById('days').compareDocumentPosition(document.getElementById('past')) & Node.DOCUMENT_POSITION_FOLLOWING)`) {
			t.Errorf("%s: past events come before upcoming ones", lang)
		}
		b.closeTab(tab)
	}
}

// TestBrowserEventLanguageName: the event page names the language, in the
// page's own language and in its own, rather than showing its code.
func TestBrowserEventLanguageName(t *testing.T) {
	b := newBrowserTest(t)
	eid := b.apiCall("POST", "/events", map[string]any{"title": "Taller", "start": "2031-03-01T10:00:00Z", "end": "2031-03-01T12:00:00Z", "timezone": "UTC", "language": "pt"})["id"].(string)
	for _, tc := range []struct{ lang, name string }{{"es", "portugués (português)"}, {"en", "Portuguese (português)"}} {
		tab := b.tab()
		b.do(tab, chromedp.Navigate(b.url+"/events/"+eid+"?lang="+tc.lang))
		want := msg(mustCatalog(t, tc.lang), "event.language_is", "lang", tc.name)
		b.waitJS(tab, `document.getElementById('event-meta').textContent === `+jsString(want))
		b.closeTab(tab)
	}
}
