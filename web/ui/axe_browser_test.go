package ui

// Accessibility: axe-core (npm, node_modules/axe-core) runs in the real
// browser against every page, in English and Spanish, at desktop and phone
// sizes, and must report no WCAG 2.1 A/AA violation.

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// axeScript returns axe-core's source, or skips the test when `npm ci` has
// not installed it.
func axeScript(t *testing.T) string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("..", "..", "node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		t.Skip("accessibility tests need axe-core: run `npm ci` at the repository root to install it")
	}
	return string(src)
}

type axeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// axeCheck runs axe-core in the tab's current page and fails the test on
// any violation of WCAG 2.1 A or AA.
func (b *browserTest) axeCheck(tab context.Context, src, where string) {
	b.t.Helper()
	for _, v := range b.axeViolations(tab, src, where) {
		b.t.Errorf("%s: %s (%s): %s\n\t%s", where, v.ID, v.Impact, v.Help, strings.Join(v.Nodes, "\n\t"))
	}
}

func (b *browserTest) axeViolations(tab context.Context, src, where string) []axeViolation {
	b.t.Helper()
	// Injected through the DevTools protocol, which the page's CSP does not
	// govern; the page itself still may not run inline scripts.
	if !eval[bool](b, tab, `typeof axe !== 'undefined'`) {
		eval[bool](b, tab, src+";\ntrue")
	}
	ctx, cancel := context.WithTimeout(tab, waitLimit)
	defer cancel()
	out, err := chromedp.Run(ctx, chromedp.Evaluate[string](`axe.run(document, {
		runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']},
		resultTypes: ['violations'],
	}).then((r) => JSON.stringify(r.violations.map((v) => ({
		id: v.id, impact: v.impact, help: v.help,
		nodes: v.nodes.slice(0, 5).map((n) => n.target.join(' ') + ': ' + n.failureSummary),
	}))))`, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("%s: running axe: %v", where, err)
	}
	var vs []axeViolation
	if err := json.Unmarshal([]byte(out), &vs); err != nil {
		b.t.Fatalf("%s: axe's answer: %v", where, err)
	}
	return vs
}

func TestBrowserAccessibility(t *testing.T) {
	src := axeScript(t)
	b := newBrowserTest(t, "--ui-public", "127.0.0.1:0")
	if b.public == "" {
		t.Skip("no public address (CONVENE_UI_URL runs against a node without one)")
	}
	sid := b.createSession("Open square", "What should the square become?", 10)
	ana := b.apiCall("POST", "/identities", map[string]any{"name": "Ana"})["id"].(string)
	ga := b.apiCall("POST", "/groups", map[string]any{"name": "Group A", "as": ana})["id"].(string)
	bea := b.apiCall("POST", "/identities", map[string]any{"name": "Bea"})["id"].(string)
	gb := b.apiCall("POST", "/groups", map[string]any{"name": "Group B", "as": bea})["id"].(string)
	p := b.apiCall("POST", "/sessions/"+sid+"/proposals", map[string]any{"group": ga, "text": "Trees along the edge", "as": ana})["id"].(string)
	b.apiCall("POST", "/sessions/"+sid+"/proposals", map[string]any{"group": gb, "text": "A fountain in the middle", "as": bea})
	b.apiCall("PUT", "/proposals/"+p+"/endorsements/"+gb+"?as="+bea, nil)
	b.apiCall("POST", "/proposals/"+p+"/comments", map[string]any{"text": "Which trees?", "as": bea})
	eid := b.apiCall("POST", "/events", map[string]any{"title": "Street party", "start": "2031-06-01T16:00:00Z", "end": "2031-06-01T20:00:00Z", "timezone": "UTC", "capacity": 20})["id"].(string)

	pages := []struct {
		name, url, ready string
	}{
		{"home", b.url + "/", `document.querySelectorAll('#sessions a').length > 0 && document.getElementById('freshness').textContent !== ''`},
		{"scribe", b.url + "/s/" + sid, `document.querySelectorAll('#proposals > li').length === 2 && document.getElementById('identity').options.length > 0`},
		{"projection", b.url + "/s/" + sid + "/projection", `document.querySelectorAll('#proposals > li').length === 2`},
		{"events", b.url + "/events", `document.body.textContent.includes('Street party')`},
		{"event", b.url + "/events/" + eid, `document.getElementById('event-title').textContent === 'Street party'`},
		{"network", b.url + "/network", `document.getElementById('peer-id').textContent !== ''`},
		{"facilitate", b.url + "/facilitate", `document.getElementById('gathering-name').textContent !== ''`},
		{"public front page", b.public + "/", `document.querySelectorAll('#sessions a').length > 0`},
		{"public projection", b.public + "/s/" + sid + "/projection", `document.querySelectorAll('#proposals > li').length === 2`},
	}
	// One tab for everything: each open page holds a stream, and Chromium
	// allows a host only six connections.
	tab := b.tab()
	for _, lang := range langsEnLast {
		for _, pg := range pages {
			for _, vp := range viewports {
				b.viewport(tab, vp.w, vp.h, vp.mobile)
				b.do(tab, chromedp.Navigate(pg.url+"?lang="+lang))
				b.waitJS(tab, pg.ready)
				b.axeCheck(tab, src, pg.name+" "+lang+" "+vp.name)
			}
		}
		// The scribe page with its panels open: history, comments, editor.
		for _, vp := range viewports {
			b.viewport(tab, vp.w, vp.h, vp.mobile)
			b.do(tab, chromedp.Navigate(b.url+"/s/"+sid+"?lang="+lang))
			sel := `#proposals li[data-id="` + p + `"]`
			b.waitJS(tab, `document.querySelector('`+sel+`') !== null`)
			for i := 2; i <= 4; i++ {
				b.do(tab, chromedp.Click(chromedp.CSS(sel+` .actions button:nth-child(`+string(rune('0'+i))+`)`)))
			}
			b.waitJS(tab, `document.querySelector('`+sel+` .history ol') !== null && document.querySelector('`+sel+` .comments form') !== null`)
			b.axeCheck(tab, src, "scribe with panels open "+lang+" "+vp.name)
		}
	}
	// The check sees what it must: an image without a text alternative.
	eval[bool](b, tab, `(() => { document.body.append(Object.assign(document.createElement('img'), {src: '/qr.png?for=join'})); return true })()`)
	vs := b.axeViolations(tab, src, "a planted fault")
	if !slices.ContainsFunc(vs, func(v axeViolation) bool { return v.ID == "image-alt" }) {
		t.Errorf("axe missed an image without alt: %v", vs)
	}
}
