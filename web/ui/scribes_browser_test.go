package ui

import (
	"context"
	"slices"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/web/apiv1"
)

// TestBrowserTwoScribesOneLaptop: Ana and Bea share a laptop and both
// scribe group G. Bea, chosen in the page, proposes, edits and endorses:
// each act is hers, not that of the first scribe the server would pick.
func TestBrowserTwoScribesOneLaptop(t *testing.T) {
	b := newBrowserTest(t)
	c := &apiv1.Client{Base: b.url, Token: b.token}
	ctx := context.Background()
	sid := b.createSession("Shared laptop", "", 0)
	ana := b.apiCall("POST", "/identities", map[string]any{"name": "Ana"})["id"].(string)
	bea := b.apiCall("POST", "/identities", map[string]any{"name": "Bea"})["id"].(string)
	g := b.apiCall("POST", "/groups", map[string]any{"name": "Group G", "as": ana})["id"].(string)
	b.apiCall("POST", "/groups/"+g+"/scribes", map[string]any{"identity": bea, "as": ana})
	p0 := b.apiCall("POST", "/sessions/"+sid+"/proposals", map[string]any{"group": g, "text": "Ana's words", "as": ana})["id"].(string)

	tab := b.tab()
	b.do(tab, chromedp.Navigate(b.url+"/s/"+sid))
	b.waitJS(tab, `document.querySelectorAll('#proposals > li').length === 1`)
	// Record what the page asks of the API.
	eval[bool](b, tab, `(() => { window.sent = []; const f = window.fetch; window.fetch = (u, o) => { window.sent.push(String(u)); return f(u, o); }; return true })()`)
	eval[bool](b, tab, `(() => { const s = document.getElementById('identity'); s.value = `+jsString(bea)+`; s.dispatchEvent(new Event('change')); return true })()`)
	eval[bool](b, tab, `(() => { const s = document.getElementById('group'); s.value = `+jsString(g)+`; s.dispatchEvent(new Event('change')); return true })()`)
	b.waitJS(tab, `!document.getElementById('propose-button').disabled`)

	b.do(tab,
		chromedp.SendKeys(chromedp.ID("proposal-text"), "Bea's words"),
		chromedp.Click(chromedp.ID("propose-button")),
	)
	b.waitJS(tab, `document.querySelectorAll('#proposals > li').length === 2`)

	// Bea edits Ana's proposal; her group then endorses the new revision.
	sel := `#proposals li[data-id="` + p0 + `"]`
	b.do(tab, chromedp.Click(chromedp.CSS(sel+` .actions button:nth-child(2)`)))
	b.waitJS(tab, `!document.querySelector('`+sel+` form.editor').hidden`)
	b.do(tab,
		chromedp.SetValue(chromedp.CSS(sel+` form.editor textarea`), "Bea's edit"),
		chromedp.Click(chromedp.CSS(sel+` form.editor button[type=submit]`)),
	)
	b.waitJS(tab, `document.querySelector('`+sel+` .ptext').textContent === "Bea's edit"`)
	// And withdraws that endorsement.
	b.do(tab, chromedp.Click(chromedp.CSS(sel+` .actions button:nth-child(1)`)))
	b.waitJS(tab, `document.querySelector('`+sel+` .count').textContent === '0 endorsements'`)
	if !eval[bool](b, tab, `window.sent.some((u) => u.includes('/endorsements/') && u.endsWith('?as=`+bea+`'))`) {
		t.Errorf("the endorsement was not sent as Bea: %v", eval[[]string](b, tab, `window.sent`))
	}

	beaID, err := crdt.ParseIdentityID(bea)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := c.Document(ctx, mustOp(t, sid))
	if err != nil {
		t.Fatal(err)
	}
	var authors []crdt.IdentityID
	for _, p := range doc.Proposals {
		revs, err := c.Revisions(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range revs {
			if r.Text != "Ana's words" {
				authors = append(authors, r.Author)
			}
		}
	}
	if !slices.Equal(authors, []crdt.IdentityID{beaID, beaID}) {
		t.Errorf("the proposal and the edit made as Bea are by %v", authors)
	}
}

func mustOp(t *testing.T, s string) crdt.OpID {
	t.Helper()
	id, err := crdt.ParseOpID(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}
