package ui

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/node"
	"github.com/convene/convene/web/apiv1"
)

// TestBrowserFacilitate: a facilitator removes a member (rotating the
// invite in the same step, the box's default), seats a group and hides a
// group's name and rotates the invite on its own from /facilitate, confirming each act in a dialog that says
// what it does to laptops offline now, and finds hidden revisions and
// comments in the hidden items, in English and Spanish.
func TestBrowserFacilitate(t *testing.T) {
	b := newBrowserTest(t)
	c := &apiv1.Client{Base: b.url, Token: b.token}
	ctx := context.Background()
	// The language chosen is a cookie of 127.0.0.1, which every test's node
	// shares: leave it English, as the other tests expect.
	t.Cleanup(func() {
		tab := b.tab()
		b.do(tab, chromedp.Navigate(b.url+"/events?lang=en"))
		b.closeTab(tab)
	})
	for _, lang := range []string{"es", "en"} {
		t.Run(lang, func(t *testing.T) {
			cat := mustCatalog(t, lang)
			bob := b.apiCall("POST", "/identities", map[string]any{"name": "Bob " + lang})["id"].(string)
			cy := b.apiCall("POST", "/identities", map[string]any{"name": "Cy " + lang})["id"].(string)
			table := b.apiCall("POST", "/groups", map[string]any{"name": "Table " + lang, "as": cy})["id"].(string)
			rude := b.apiCall("POST", "/groups", map[string]any{"name": "Rude name " + lang, "as": cy})["id"].(string)
			// A proposal with a revision and a comment, both hidden.
			sid := b.apiCall("POST", "/sessions", map[string]any{"title": "Hidden things " + lang})["id"].(string)
			own := b.apiCall("POST", "/groups", map[string]any{"name": "Own " + lang})["id"].(string)
			pid := b.apiCall("POST", "/sessions/"+sid+"/proposals", map[string]any{"group": own, "text": "p " + lang})["id"].(string)
			rev := b.apiCall("POST", "/proposals/"+pid+"/revisions", map[string]any{"group": own, "text": "rude edit " + lang, "base": []string{pid}})["revision"].(string)
			com := b.apiCall("POST", "/proposals/"+pid+"/comments", map[string]any{"text": "rude comment " + lang})["id"].(string)
			b.apiCall("PUT", "/hidden/"+rev, nil)
			b.apiCall("PUT", "/hidden/"+com, nil)

			tab := b.tab()
			b.do(tab, chromedp.Navigate(b.url+"/facilitate?lang="+lang))
			row := func(list, id string) string {
				return `document.querySelector('#` + list + ` tr[data-id=` + jsString(id) + `]')`
			}
			b.waitJS(tab, `!!(`+row("members", bob)+` && `+row("groups", rude)+`)`)
			if got := eval[string](b, tab, row("members", bob)+`.querySelector('button.remove').textContent`); got != cat["facilitate.remove"] {
				t.Fatalf("remove button says %q, want %q", got, cat["facilitate.remove"])
			}
			// confirm clicks a button, checks that the dialog explains what
			// happens offline, and confirms.
			confirm := func(click, offlineKey string, rotation bool) {
				t.Helper()
				eval[bool](b, tab, `(`+click+`.click(), true)`)
				b.waitJS(tab, `document.getElementById('confirm').open`)
				if got := eval[string](b, tab, `document.getElementById('confirm-offline').textContent`); got != cat[offlineKey] {
					t.Fatalf("dialog says %q, want %q", got, cat[offlineKey])
				}
				if offered := eval[bool](b, tab, `!document.getElementById('confirm-rotate-row').hidden`); offered != rotation {
					t.Fatalf("rotation offered: %v, want %v", offered, rotation)
				}
				if rotation && !eval[bool](b, tab, `document.getElementById('confirm-rotate').checked`) {
					t.Fatal("the rotation is not offered checked")
				}
				eval[bool](b, tab, `(document.getElementById('confirm-yes').click(), true)`)
				b.waitJS(tab, `!document.getElementById('confirm').open`)
			}

			// Cancelling does nothing.
			eval[bool](b, tab, `(`+row("groups", table)+`.querySelector('button.seat').click(), true)`)
			b.waitJS(tab, `document.getElementById('confirm').open`)
			eval[bool](b, tab, `(document.getElementById('confirm-no').click(), true)`)
			b.waitJS(tab, `!document.getElementById('confirm').open`)

			confirm(row("members", bob)+`.querySelector('button.remove')`, "facilitate.remove_offline", true)
			b.waitJS(tab, `!!(`+row("members", bob)+` && !`+row("members", bob)+`.querySelector('button.remove'))`)
			b.waitJS(tab, `document.getElementById('status').textContent.includes(`+jsString(cat["facilitate.rotated"])+`)`)
			for _, h := range []struct{ id, kind string }{{rev, "revision"}, {com, "comment"}} {
				li := `document.querySelector('#hidden li[data-id=` + jsString(h.id) + `][data-kind=` + h.kind + `]')`
				b.waitJS(tab, `!!`+li)
				if got := eval[string](b, tab, li+`.textContent`); !strings.Contains(got, cat["facilitate.kind_"+h.kind]) {
					t.Errorf("hidden %s listed as %q", h.kind, got)
				}
			}
			confirm(row("groups", table)+`.querySelector('button.seat')`, "facilitate.seat_offline", false)
			b.waitJS(tab, `!!(`+row("groups", table)+` && `+row("groups", table)+`.querySelector('button.unseat'))`)
			confirm(row("groups", rude)+`.querySelector('button.hide')`, "facilitate.hide_offline", false)
			b.waitJS(tab, `document.querySelector('#hidden li[data-id=`+jsString(rude)+`]') !== null`)
			if eval[bool](b, tab, `document.getElementById('main').textContent.includes(`+jsString("Rude name "+lang)+`)`) {
				t.Error("the hidden group name is still on the page")
			}

			// Rotating on its own: the dialog says what offline laptops get,
			// the page shows the new invite with a link to its QR code, and
			// the node writes in the next epoch, which the invite carries.
			before, err := c.Status(ctx)
			if err != nil {
				t.Fatal(err)
			}
			confirm(`document.getElementById('rotate')`, "facilitate.rotate_offline", false)
			b.waitJS(tab, `!document.getElementById('new-invite-box').hidden && document.getElementById('new-invite').value !== ''`)
			b.waitJS(tab, `document.getElementById('status').textContent === `+jsString(cat["facilitate.rotated"]))
			after, err := c.Status(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if after.Epoch != before.Epoch+1 {
				t.Errorf("epoch %d after rotating from the page, was %d", after.Epoch, before.Epoch)
			}
			inv, err := node.ParseInvite(eval[string](b, tab, `document.getElementById('new-invite').value`))
			if err != nil {
				t.Fatalf("the page's new invite: %v", err)
			}
			if len(inv.Epochs) == 0 || inv.Epochs[len(inv.Epochs)-1].Epoch != after.Epoch {
				t.Errorf("the page's invite carries epochs %+v, the node writes in %d", inv.Epochs, after.Epoch)
			}
			if got := eval[string](b, tab, `document.getElementById('invite-qr').getAttribute('href')`); got != "/network" {
				t.Errorf("the QR link goes to %q", got)
			}
			b.maybeAxe(tab, "facilitate after rotating ("+lang+")")

			members, err := c.Members(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range members {
				if m.ID.String() == bob && !m.Removed {
					t.Errorf("Bob is not removed: %+v", m)
				}
			}
			for _, tc := range []struct {
				id             string
				seated, hidden bool
			}{{table, true, false}, {rude, false, true}} {
				gid, _ := crdt.ParseOpID(tc.id)
				g, err := c.Group(ctx, gid)
				if err != nil {
					t.Fatal(err)
				}
				if g.Seated != tc.seated || g.Hidden != tc.hidden {
					t.Errorf("group %s: %+v", tc.id, g)
				}
			}
			if lang == "en" && os.Getenv("CONVENE_SCREENSHOTS") != "" {
				b.screenshot(tab, "facilitate", "")
			}
			b.closeTab(tab)
		})
	}
}
