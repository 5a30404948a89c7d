package ui

import (
	"bytes"
	"encoding/json"
	"image/png"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestRouting(t *testing.T) {
	full := newTestHandler(t, Config{JoinURL: func() string { return "http://192.0.2.1:7778/" }, Invite: func() string { return "convene:secret-invite" }})
	public := newTestHandler(t, Config{ReadOnly: true, JoinURL: func() string { return "http://192.0.2.1:7778/" }, Invite: func() string { return "convene:secret-invite" }})
	sid := strings.Repeat("ab", 32)
	cases := []struct {
		path         string
		full, public int
	}{
		{"/", 200, 200},
		{"/s/" + sid, 200, 404},
		{"/s/" + sid + "/projection", 200, 200},
		{"/events", 200, 200},
		{"/events/" + sid, 200, 200},
		{"/network", 200, 404},
		{"/static/app.css", 200, 200},
		{"/static/common.js", 200, 200},
		{"/static/projection.js", 200, 200},
		{"/static/events.js", 200, 200},
		{"/static/scribe.js", 200, 404},
		{"/static/network.js", 200, 404},
		{"/static/home.js", 200, 404},
		{"/static/public.js", 200, 200},
		{"/static/nothing.js", 404, 404},
		{"/qr.png?for=join", 200, 200},
		{"/qr.png?for=invite", 200, 404},
		{"/qr.png?for=anything+else", 404, 404},
		{"/qr.png", 404, 404},
		{"/s/bad%20id", 404, 404},
		{"/s/" + sid + "/other", 404, 404},
		{"/nowhere", 404, 404},
	}
	for _, c := range cases {
		for _, h := range []struct {
			name string
			h    http.Handler
			want int
		}{{"full", full, c.full}, {"public", public, c.public}} {
			rec := get(t, h.h, c.path, nil)
			if rec.Code != h.want {
				t.Errorf("%s %s: status %d, want %d", h.name, c.path, rec.Code, h.want)
			}
			if got := rec.Header().Get("Content-Security-Policy"); got != CSP {
				t.Errorf("%s %s: CSP %q", h.name, c.path, got)
			}
		}
	}
}

func TestPostIsNotServed(t *testing.T) {
	h := newTestHandler(t, Config{})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/events", nil))
	if rec.Code == http.StatusOK {
		t.Fatalf("POST /events: %d", rec.Code)
	}
}

func TestQRCodes(t *testing.T) {
	h := newTestHandler(t, Config{
		JoinURL: func() string { return "http://192.0.2.1:7778/" },
		Invite:  func() string { return "convene1:" + strings.Repeat("x", 600) },
	})
	for _, which := range []string{"join", "invite"} {
		rec := get(t, h, "/qr.png?for="+which, nil)
		if rec.Code != 200 || rec.Header().Get("Content-Type") != "image/png" {
			t.Fatalf("%s: %d %s", which, rec.Code, rec.Header().Get("Content-Type"))
		}
		if _, err := png.Decode(rec.Body); err != nil {
			t.Fatalf("%s: not a PNG: %v", which, err)
		}
	}
	// No join URL, no code.
	h = newTestHandler(t, Config{JoinURL: func() string { return "" }})
	if rec := get(t, h, "/qr.png?for=join", nil); rec.Code != 404 {
		t.Fatalf("empty join URL: %d", rec.Code)
	}
	if rec := get(t, h, "/s/abc/projection", nil); strings.Contains(rec.Body.String(), "qr.png") {
		t.Fatal("projection links a QR code that does not exist")
	}
}

func TestLanguage(t *testing.T) {
	h := newTestHandler(t, Config{})
	cases := []struct {
		accept, cookie, query string
		want                  string
	}{
		{"", "", "", "en"},
		{"es-MX,es;q=0.9,en;q=0.5", "", "", "es"},
		{"fr-CA", "", "", "fr"},
		{"pt-BR,pt;q=0.9", "", "", "pt"},
		{"de-DE,de;q=0.9", "", "", "en"},
		{"de-DE,fr;q=0.5", "", "", "fr"},
		{"garbage;;;q=x", "", "", "en"},
		{"es", "fr", "", "fr"},
		{"es", "xx", "", "es"},
		{"es", "fr", "pt", "pt"},
		{"es", "", "zz", "es"},
	}
	for _, c := range cases {
		path := "/events"
		if c.query != "" {
			path += "?lang=" + c.query
		}
		hdr := http.Header{}
		if c.accept != "" {
			hdr.Set("Accept-Language", c.accept)
		}
		if c.cookie != "" {
			hdr.Set("Cookie", "lang="+c.cookie)
		}
		rec := get(t, h, path, hdr)
		if !strings.Contains(rec.Body.String(), `<html lang="`+c.want+`">`) {
			t.Errorf("accept %q cookie %q query %q: want %s, page starts %q", c.accept, c.cookie, c.query, c.want, head(rec.Body.String()))
		}
		// The page's words are the chosen catalog's.
		cat := mustCatalog(t, c.want)
		if !strings.Contains(rec.Body.String(), ">"+cat["events.title"]+"</h1>") {
			t.Errorf("%s page lacks its title %q", c.want, cat["events.title"])
		}
		setCookie := rec.Header().Get("Set-Cookie")
		if c.query != "" && slices.Contains(supported, c.query) {
			if !strings.Contains(setCookie, "lang="+c.query) || !strings.Contains(setCookie, "SameSite=Lax") {
				t.Errorf("switch to %s sets cookie %q", c.query, setCookie)
			}
		} else if setCookie != "" {
			t.Errorf("no switch, yet cookie %q", setCookie)
		}
	}
}

func TestCatalogParity(t *testing.T) {
	en := mustCatalog(t, "en")
	for _, lang := range supported[1:] {
		cat := mustCatalog(t, lang)
		for k := range en {
			if _, ok := cat[k]; !ok {
				t.Errorf("%s lacks %q", lang, k)
			}
		}
		for k := range cat {
			if _, ok := en[k]; !ok {
				t.Errorf("%s has %q, which en lacks", lang, k)
			}
		}
	}
	for _, lang := range supported {
		for k, v := range mustCatalog(t, lang) {
			if strings.TrimSpace(v) == "" {
				t.Errorf("%s: %q is empty", lang, k)
			}
		}
	}
}

// TestKeysUsedExist checks that every message key the templates and
// scripts name is in the catalog.
func TestKeysUsedExist(t *testing.T) {
	en := mustCatalog(t, "en")
	patterns := []*regexp.Regexp{
		regexp.MustCompile(`\{\{t "([a-z_.]+)"`),
		regexp.MustCompile(`\bt\('([a-z_.]*[a-z_])'`),
	}
	plural := regexp.MustCompile(`\btn\('([a-z_.]+)'`)
	n := 0
	err := fs.WalkDir(files, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !(strings.HasSuffix(path, ".html") || strings.HasSuffix(path, ".js")) {
			return err
		}
		b, _ := fs.ReadFile(files, path)
		for _, p := range patterns {
			for _, m := range p.FindAllSubmatch(b, -1) {
				n++
				if _, ok := en[string(m[1])]; !ok {
					t.Errorf("%s uses %q, not in the catalog", path, m[1])
				}
			}
		}
		for _, m := range plural.FindAllSubmatch(b, -1) {
			n++
			for _, form := range []string{".one", ".other"} {
				if _, ok := en[string(m[1])+form]; !ok {
					t.Errorf("%s uses plural %q, catalog lacks %s", path, m[1], form)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 50 {
		t.Fatalf("found only %d message uses: the patterns are stale", n)
	}
	// Keys built at run time.
	for _, prefix := range []string{"via.", "status.", "rsvp.", "lang."} {
		for _, v := range map[string][]string{
			"via.":    {"mdns", "static", "invite", "hub", "pex", "inbound", "unknown"},
			"status.": {"confirmed", "tentative", "cancelled"},
			"rsvp.":   {"going", "maybe", "not_going"},
			"lang.":   supported,
		}[prefix] {
			if _, ok := en[prefix+v]; !ok {
				t.Errorf("catalog lacks %s%s", prefix, v)
			}
		}
	}
}

// TestTemplatesHaveNoBareText is the simple check that every word in a
// template comes from the catalog: with actions and tags removed, only
// whitespace and punctuation remain, and attributes people read hold only
// actions.
func TestTemplatesHaveNoBareText(t *testing.T) {
	action := regexp.MustCompile(`\{\{.*?\}\}`)
	script := regexp.MustCompile(`(?s)<script.*?</script>`)
	tag := regexp.MustCompile(`(?s)<[^>]*>`)
	attr := regexp.MustCompile(`\b(aria-label|placeholder|title|alt)="((?:\{\{.*?\}\}|[^"])*)"`)
	bare := regexp.MustCompile(`[\p{L}\p{N}]`)
	names, err := fs.Glob(files, "templates/*.html")
	if err != nil || len(names) < 6 {
		t.Fatalf("templates: %v %v", names, err)
	}
	for _, name := range names {
		b, _ := fs.ReadFile(files, name)
		for _, m := range attr.FindAllStringSubmatch(string(b), -1) {
			if rest := action.ReplaceAllString(m[2], ""); bare.MatchString(rest) {
				t.Errorf("%s: attribute %s=%q has bare text", name, m[1], m[2])
			}
		}
		text := action.ReplaceAllString(string(b), "")
		text = script.ReplaceAllString(text, "")
		text = tag.ReplaceAllString(text, "")
		if bare.MatchString(text) {
			for _, line := range strings.Split(text, "\n") {
				if bare.MatchString(line) {
					t.Errorf("%s: bare text %q", name, strings.TrimSpace(line))
				}
			}
		}
	}
}

// TestNoInlineCode renders every page and checks for what the CSP would
// block: inline scripts, event handler attributes and style attributes.
func TestNoInlineCode(t *testing.T) {
	h := newTestHandler(t, Config{JoinURL: func() string { return "http://x/" }, Invite: func() string { return "inv" }})
	scriptTag := regexp.MustCompile(`(?s)<script([^>]*)>(.*?)</script>`)
	handlerAttr := regexp.MustCompile(`(?i)\son[a-z]+\s*=`)
	for _, path := range []string{"/", "/s/abc", "/s/abc/projection", "/events", "/events/abc", "/network"} {
		for _, lang := range supported {
			body := get(t, h, path+"?lang="+lang, nil).Body.String()
			for _, m := range scriptTag.FindAllStringSubmatch(body, -1) {
				attrs, content := m[1], m[2]
				switch {
				case strings.Contains(attrs, `type="application/json"`):
					var v any
					if err := json.Unmarshal([]byte(content), &v); err != nil {
						t.Errorf("%s: data island is not JSON: %v", path, err)
					}
				case strings.Contains(attrs, "src="):
					if strings.TrimSpace(content) != "" {
						t.Errorf("%s: script with src has content", path)
					}
				default:
					t.Errorf("%s: inline script %q", path, m[0])
				}
			}
			if handlerAttr.MatchString(body) {
				t.Errorf("%s: inline event handler", path)
			}
			if strings.Contains(body, " style=") || strings.Contains(body, "<style") {
				t.Errorf("%s: inline style", path)
			}
		}
	}
}

func TestReadOnlyPagesHaveNoControls(t *testing.T) {
	h := newTestHandler(t, Config{ReadOnly: true})
	for _, path := range []string{"/events", "/events/abc", "/s/abc/projection"} {
		body := get(t, h, path, nil).Body.String()
		for _, bad := range []string{"<form", "<button", `href="/network"`, `href="/"`} {
			if strings.Contains(body, bad) {
				t.Errorf("read-only %s contains %s", path, bad)
			}
		}
		if !strings.Contains(body, `"read_only":true`) {
			t.Errorf("read-only %s does not tell its script", path)
		}
	}
	full := newTestHandler(t, Config{})
	if body := get(t, full, "/events/abc", nil).Body.String(); !strings.Contains(body, `data-status="going"`) {
		t.Error("full event page lacks registration")
	}
}

func TestPageDataIsEscaped(t *testing.T) {
	h := newTestHandler(t, Config{Invite: func() string { return `</textarea><script>alert(1)</script>` }})
	body := get(t, h, "/network", nil).Body.String()
	if strings.Contains(body, "<script>alert") {
		t.Fatal("invite text was not escaped")
	}
	// Ids reach the data island only if they look like ids.
	if rec := get(t, h, "/s/%3C%2Fscript%3E", nil); rec.Code != 404 {
		t.Fatalf("markup as id: %d", rec.Code)
	}
}

func newTestHandler(t *testing.T, cfg Config) http.Handler {
	t.Helper()
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func get(t *testing.T, h http.Handler, path string, hdr http.Header) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	for k, v := range hdr {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func mustCatalog(t *testing.T, lang string) map[string]string {
	t.Helper()
	b, err := fs.ReadFile(files, "i18n/"+lang+".json")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", lang, err)
	}
	return m
}

func head(s string) string {
	if i := bytes.IndexByte([]byte(s), '\n'); i > 0 && i < 200 {
		s = s[i+1:]
	}
	if len(s) > 80 {
		return s[:80]
	}
	return s
}
