package ui

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/convene/convene/node/export"
)

// TestBrowserRatify: a facilitator ratifies a session from /facilitate,
// confirming in the dialog, and downloads the ratified file from the link
// that appears; the file checks, prints to PDF in the real browser, and
// its proposals, imported into another session, say where they came from
// on the projection. CONVENE_SCREENSHOTS=1 also writes the printed first
// page as docs/screenshots/ratified.png.
func TestBrowserRatify(t *testing.T) {
	b := newBrowserTest(t)
	cat := mustCatalog(t, "en")
	cy := b.apiCall("POST", "/identities", map[string]any{"name": "Cy ratify"})["id"].(string)
	g1 := b.apiCall("POST", "/groups", map[string]any{"name": "Tables 1–4", "as": cy})["id"].(string)
	g2 := b.apiCall("POST", "/groups", map[string]any{"name": "Tables 5–8", "as": cy})["id"].(string)
	sid := b.createSession("Declaration of Dakar", "What must change?", 6)
	texts := []string{
		"Every public service publishes its data openly, in formats anyone can read, within a year of collecting it.",
		"A right to repair: spare parts and manuals for ten years after a device is sold.",
		"Community networks get spectrum and a fund, so that villages connect themselves.",
	}
	var pids []string
	for i, text := range texts {
		g := []string{g1, g2}[i%2]
		pids = append(pids, b.apiCall("POST", "/sessions/"+sid+"/proposals?as="+cy, map[string]any{"group": g, "text": text})["id"].(string))
	}
	b.apiCall("PUT", "/proposals/"+pids[0]+"/endorsements/"+g2+"?as="+cy, nil)
	b.apiCall("PUT", "/proposals/"+pids[2]+"/endorsements/"+g1+"?as="+cy, nil)

	tab := b.tab()
	b.do(tab, chromedp.Navigate(b.url+"/facilitate?lang=en"))
	row := `document.querySelector('#sessions tr[data-id=` + jsString(sid) + `]')`
	b.waitJS(tab, `!!(`+row+` && `+row+`.querySelector('button.ratify'))`)
	if eval[bool](b, tab, `!!`+row+`.querySelector('a.download-ratified')`) {
		t.Fatal("a download link before the ratification")
	}
	eval[bool](b, tab, `(`+row+`.querySelector('button.ratify').click(), true)`)
	b.waitJS(tab, `document.getElementById('confirm').open`)
	if got := eval[string](b, tab, `document.getElementById('confirm-offline').textContent`); got != cat["facilitate.ratify_offline"] {
		t.Fatalf("dialog says %q", got)
	}
	eval[bool](b, tab, `(document.getElementById('confirm-yes').click(), true)`)
	b.waitJS(tab, `!!(`+row+` && `+row+`.querySelector('a.download-ratified'))`)
	href := eval[string](b, tab, row+`.querySelector('a.download-ratified').href`)

	// The download: what the link serves, fetched as the browser would
	// (no token: reading needs none).
	res, err := http.Get(href)
	if err != nil {
		t.Fatal(err)
	}
	file, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Disposition") == "" {
		t.Fatalf("download: %s %v", res.Status, res.Header)
	}
	f, _, err := export.ReadRatified(file)
	if err != nil {
		t.Fatalf("the downloaded file: %v", err)
	}
	if len(f.Document.Proposals) != 3 || f.Document.Title != "Declaration of Dakar" {
		t.Fatalf("downloaded %+v", f.Document)
	}

	// Printed by the browser.
	path := filepath.Join(t.TempDir(), "ratified.html")
	if err := os.WriteFile(path, file, 0o600); err != nil {
		t.Fatal(err)
	}
	paper := b.tab()
	b.do(paper, chromedp.Navigate("file://"+path))
	b.waitJS(paper, `document.querySelectorAll('ol.proposals > li').length === 3`)
	ctx, cancel := context.WithTimeout(paper, waitLimit)
	yes := true
	printed, err := chromedp.Call(ctx, page.PrintToPDF, page.PrintToPDFParams{PaperWidth: 8.27, PaperHeight: 11.69, PreferCSSPageSize: &yes})
	cancel()
	pdf := printed.Data
	if err != nil || !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatalf("print to PDF: %v (%d bytes)", err, len(pdf))
	}
	if os.Getenv("CONVENE_SCREENSHOTS") != "" {
		out := filepath.Join("..", "..", "docs", "screenshots", "ratified.png")
		pdfPath := filepath.Join(t.TempDir(), "ratified.pdf")
		if err := os.WriteFile(pdfPath, pdf, 0o644); err != nil {
			t.Fatal(err)
		}
		// The PDF's own first page, drawn by poppler's pdftoppm where it is
		// installed (Debian's poppler-utils): exactly what the printer gets.
		if tool, err := exec.LookPath("pdftoppm"); err == nil {
			stem := filepath.Join(t.TempDir(), "page")
			if msg, err := exec.Command(tool, "-png", "-r", "96", "-f", "1", "-l", "1", "-singlefile", pdfPath, stem).CombinedOutput(); err != nil {
				t.Fatalf("pdftoppm: %v: %s", err, msg)
			}
			png, err := os.ReadFile(stem + ".png")
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(out, png, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("wrote %s (the PDF's first page)", out)
		} else {
			// Without pdftoppm: the first page as printed, A4 at 96 dpi, print
			// media, the page's own margins drawn as padding.
			if _, err := chromedp.Call(paper, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: "print"}); err != nil {
				t.Fatal(err)
			}
			b.do(paper, chromedp.EmulateViewport(794, 1123))
			eval[bool](b, paper, `(document.body.style.margin = '0', document.body.style.padding = '68px', document.body.style.maxWidth = 'none', true)`)
			ctx, cancel := context.WithTimeout(paper, waitLimit)
			png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
			cancel()
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(out, png, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("wrote %s", out)
		}
	}

	// Merged into another session: the projection says where each came from.
	world := b.createSession("One declaration", "", 10)
	imported := b.apiCall("POST", "/sessions/"+world+"/imports", map[string]any{"file": base64.StdEncoding.EncodeToString(file)})
	if n := len(imported["imported"].([]any)); n != 3 {
		t.Fatalf("imported %d", n)
	}
	proj := b.tab()
	b.do(proj, chromedp.Navigate(b.url+"/s/"+world+"/projection?lang=en"))
	b.waitJS(proj, `document.querySelectorAll('#proposals .from:not([hidden])').length === 3`)
	digest := f.Ratification.Digest.String()
	if got := eval[string](b, proj, `document.querySelector('#proposals .from').textContent`); !bytes.Contains([]byte(got), []byte(digest[:6])) {
		t.Errorf("provenance on the projection: %q, want the digest %s…", got, digest[:6])
	}
}
