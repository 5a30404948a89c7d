package ui

import (
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/convene/convene/internal/testkit"
)

// TestBrowserNetworkIdentities: two laptops of one gathering; what one
// does shows on the other's network page under the peer that did it, by
// name, a hidden name withheld; the listen addresses other machines can
// dial come first and the loopback ones are folded. Renaming an identity
// on the scribe page shows the new name there too. English and Spanish,
// desktop and phone, with no accessibility violation.
func TestBrowserNetworkIdentities(t *testing.T) {
	if os.Getenv("CONVENE_UI_URL") != "" {
		t.Skip("needs two nodes of its own")
	}
	src := axeScript(t)
	chromium := findChromium(t)
	bin := convenebinary(t)
	dirA, dirB := twoLaptops(t, bin, "Two rooms")
	a, b := &browserTest{t: t}, &browserTest{t: t}
	// a listens on every interface too, so that its page has addresses to
	// show first and loopback ones to fold.
	a.url, _, a.token = startNodeIn(t, dirA, "--listen", "/ip4/0.0.0.0/tcp/0")
	st := a.apiCall("GET", "/status", nil)
	var peerAddr string
	for _, x := range st["addrs"].([]any) {
		if s := x.(string); strings.HasPrefix(s, "/ip4/127.0.0.1/tcp/") {
			peerAddr = s
		}
	}
	if peerAddr == "" {
		t.Fatalf("a has no loopback TCP address: %v", st["addrs"])
	}
	lan := false
	for _, x := range st["addrs"].([]any) {
		s := x.(string)
		lan = lan || !(strings.HasPrefix(s, "/ip4/127.") || strings.HasPrefix(s, "/ip6/::1/") || strings.HasPrefix(s, "/ip6/fe80:"))
	}
	b.url, _, b.token = startNodeIn(t, dirB, "--peer", peerAddr)
	a.browser = sharedBrowser(t, chromium)
	b.browser = a.browser
	bPeer := b.apiCall("GET", "/status", nil)["peer_id"].(string)

	// What b does reaches a by gossip, signed by b's peer.
	waitPeers := func() {
		tab := a.tab()
		defer a.closeTab(tab)
		a.do(tab, chromedp.Navigate(a.url+"/network"))
		a.waitJS(tab, `document.querySelectorAll('#peers tr').length === 1`)
	}
	waitPeers()
	bo := b.apiCall("POST", "/identities", map[string]any{"name": "Bo"})["id"].(string)
	cy := b.apiCall("POST", "/identities", map[string]any{"name": "Cy"})["id"].(string)
	// A facilitator (a's founder) hides Cy's name.
	a.waitAPI(`/identities/`+cy, "name", "Cy")
	a.apiCall("PUT", "/hidden/"+cy, nil)

	// b renames Bo on its scribe page.
	sid := b.createSession("Names", "", 0)
	tab := b.tab()
	b.do(tab, chromedp.Navigate(b.url+"/s/"+sid+"?lang=en"))
	b.waitJS(tab, `document.getElementById('identity').options.length === 3`)
	eval[bool](b, tab, `(() => { const s = document.getElementById('identity'); s.value = `+jsString(bo)+`; s.dispatchEvent(new Event('change')); return true })()`)
	if eval[bool](b, tab, `document.getElementById('you').classList.contains('folded')`) {
		b.do(tab, chromedp.Click(chromedp.ID("you-change")))
	}
	b.waitJS(tab, `document.getElementById('rename-identity').value === 'Bo'`)
	// Typed in the field (which keeps what is typed while it has the
	// focus), sent with Enter.
	eval[bool](b, tab, `(() => { const f = document.getElementById('rename-identity'); f.focus(); f.value = 'Bolívar'; return true })()`)
	b.do(tab, chromedp.KeyEvent(kb.Enter))
	b.waitJS(tab, `[...document.getElementById('identity').options].some(o => o.value === `+jsString(bo)+` && o.textContent === 'Bolívar')`)
	b.closeTab(tab)

	tab = a.tab()
	for _, lang := range langsEnLast {
		cat := mustCatalog(t, lang)
		// Bea made the session, Bo renamed himself, Cy is hidden.
		names := `['Bea', 'Bolívar', ` + jsString(msg(cat, "event.unnamed.one", "n", "1")) + `]`
		want := eval[string](a, tab, `new Intl.ListFormat(`+jsString(lang)+`, { style: 'long', type: 'conjunction' }).format(`+names+`)`)
		for _, vp := range viewports {
			a.viewport(tab, vp.w, vp.h, vp.mobile)
			a.do(tab, chromedp.Navigate(a.url+"/network?lang="+lang))
			row := `[...document.querySelectorAll('#peers tr')].find(tr => tr.querySelector('.peer-id').textContent === ` + jsString(bPeer) + `)`
			a.waitJS(tab, row+` && `+row+`.querySelector('.peer-who') && `+row+`.querySelector('.peer-who').textContent === `+jsString(want))
			if strings.Contains(eval[string](a, tab, `[...document.querySelectorAll('#peers .peer-who')].map(e => e.textContent).join(' ')`), "Cy") {
				t.Errorf("%s %s: the hidden name is on the network page", lang, vp.name)
			}
			// Addresses: none of the shown ones is loopback; those are
			// folded (on a machine with another address).
			if lan {
				shown := eval[[]string](a, tab, `[...document.querySelectorAll('#addrs li')].map(li => li.textContent)`)
				if len(shown) == 0 {
					t.Errorf("%s %s: no address shown", lang, vp.name)
				}
				for _, s := range shown {
					if strings.HasPrefix(s, "/ip4/127.") || strings.HasPrefix(s, "/ip6/::1/") {
						t.Errorf("%s %s: loopback %s among the shown addresses %q", lang, vp.name, s, shown)
					}
				}
				if eval[bool](a, tab, `document.getElementById('addrs-more').hidden || document.getElementById('addrs-more').open`) {
					t.Errorf("%s %s: the loopback addresses are not folded", lang, vp.name)
				}
			}
			a.axeCheck(tab, src, "network with a peer "+lang+" "+vp.name)
			if lang == "en" && vp.name == "desktop" && os.Getenv("CONVENE_SCREENSHOTS") != "" {
				a.screenshot(tab, "network", "")
			}
		}
	}
	a.closeTab(tab)
}

// waitAPI waits until GET path answers a JSON object whose field is want
// (what another laptop sent has arrived).
func (b *browserTest) waitAPI(path, field, want string) {
	b.t.Helper()
	testkit.Eventually(b.t, waitLimit, "GET "+path+" "+field+" = "+want, func() (bool, string) {
		req, _ := http.NewRequest("GET", b.url+"/api/v1"+path, nil)
		req.Header.Set("Authorization", "Bearer "+b.token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return false, err.Error()
		}
		defer res.Body.Close()
		var j map[string]any
		json.NewDecoder(res.Body).Decode(&j)
		return res.StatusCode == 200 && j[field] == want, res.Status
	})
}
