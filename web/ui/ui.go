// Package ui serves convene's web pages: server-rendered shells (html/template)
// and small JavaScript modules that talk to the JSON API at /api/v1 and follow
// its live stream. Everything is embedded, so the binary carries the UI and
// there is no front-end build step.
//
// The pages never put user text into markup: templates escape it and the
// scripts use textContent. The Content-Security-Policy forbids inline scripts
// and styles, so a proposal that contains markup stays text even if an
// escaping bug slipped in.
package ui

import (
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"regexp"
	"strings"

	"github.com/skip2/go-qrcode"

	"github.com/convene/convene/internal/httpsec"
)

//go:embed templates/*.html static i18n/*.json
var files embed.FS

// CSP is the Content-Security-Policy of every response of the handler.
const CSP = httpsec.CSP

// Config says what the handler serves.
type Config struct {
	// ReadOnly serves only the projection and the events pages (without
	// registration or edit controls) and their assets: it is the view for
	// phones in the room (--ui-public).
	ReadOnly bool
	// JoinURL returns the base URL phones use to open the read-only view
	// (no trailing slash), for the projection's QR code, which adds the
	// session's projection path. It may be nil or return "".
	JoinURL func() string
	// Invite returns the gathering's invite, shown on /network. It may be nil
	// or return "" (the public handler has no invite).
	Invite func() string
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// pages maps a page name to its template file and script.
var pages = map[string]struct{ file, script, class string }{
	"home":       {"home.html", "home.js", "page-home"},
	"scribe":     {"scribe.html", "scribe.js", "page-scribe"},
	"projection": {"projection.html", "projection.js", "page-projection"},
	"events":     {"events.html", "events.js", "page-events"},
	"event":      {"event.html", "event.js", "page-event"},
	"network":    {"network.html", "network.js", "page-network"},
	"facilitate": {"facilitate.html", "facilitate.js", "page-facilitate"},
	"public":     {"public.html", "public.js", "page-public"},
}

// publicPages are the pages (and scripts) the read-only handler serves.
var publicPages = map[string]bool{"projection": true, "events": true, "event": true, "public": true}

// sharedScripts are modules every page imports.
var sharedScripts = map[string]bool{"common.js": true, "app.css": true, "events-common.js": true, "arc.js": true}

// idPattern bounds the ids accepted in page paths; the API decides whether
// they exist.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)

type handler struct {
	cfg    Config
	log    *slog.Logger
	i18n   *catalogs
	tmpl   map[string]map[string]*template.Template // lang → page → template
	static fs.FS
	mux    *http.ServeMux
}

// New returns the handler for the pages. Mount it at the root of the UI
// server, beside the API at /api/v1/.
func New(cfg Config) (http.Handler, error) {
	h := &handler{cfg: cfg, log: cfg.Logger}
	if h.log == nil {
		h.log = slog.Default()
	}
	var err error
	if h.i18n, err = loadCatalogs(files); err != nil {
		return nil, err
	}
	if h.static, err = fs.Sub(files, "static"); err != nil {
		return nil, fmt.Errorf("ui: static files: %w", err)
	}
	h.tmpl = make(map[string]map[string]*template.Template)
	for _, lang := range h.i18n.langs {
		cat := h.i18n.byLang[lang]
		h.tmpl[lang] = make(map[string]*template.Template)
		for name, p := range pages {
			t, err := template.New("layout.html").Funcs(template.FuncMap{
				"t": cat.text,
			}).ParseFS(files, "templates/layout.html", "templates/eventform.html", "templates/"+p.file)
			if err != nil {
				return nil, fmt.Errorf("ui: template %s: %w", p.file, err)
			}
			h.tmpl[lang][name] = t
		}
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /s/{sid}/projection", h.page("projection", "sid"))
	mux.HandleFunc("GET /events", h.page("events", ""))
	mux.HandleFunc("GET /events/{eid}", h.page("event", "eid"))
	mux.HandleFunc("GET /static/{file}", h.serveStatic)
	mux.HandleFunc("GET /qr.png", h.serveQR)
	if cfg.ReadOnly {
		// The public address's front page: what it serves, for a phone
		// that opened the bare address.
		mux.HandleFunc("GET /{$}", h.page("public", ""))
	} else {
		mux.HandleFunc("GET /{$}", h.page("home", ""))
		mux.HandleFunc("GET /s/{sid}", h.page("scribe", "sid"))
		mux.HandleFunc("GET /network", h.page("network", ""))
		mux.HandleFunc("GET /facilitate", h.page("facilitate", ""))
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		setSecurityHeaders(w)
		http.NotFound(w, r)
	})
	h.mux = mux
	return h, nil
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

func setSecurityHeaders(w http.ResponseWriter) {
	httpsec.Set(w.Header())
}

// pageData is what a page's template sees. Data goes to the page's script
// as a JSON data island.
type pageData struct {
	Lang     string
	Langs    []string
	Page     string
	Script   string
	Class    string
	ReadOnly bool
	HasJoin  bool
	Invite   string
	Catalog  map[string]string
	Data     map[string]any
}

// page renders a page; idParam names the path value the page is about.
func (h *handler) page(name, idParam string) http.HandlerFunc {
	p := pages[name]
	return func(w http.ResponseWriter, r *http.Request) {
		setSecurityHeaders(w)
		data := map[string]any{"read_only": h.cfg.ReadOnly}
		if idParam != "" {
			id := r.PathValue(idParam)
			if !idPattern.MatchString(id) {
				http.NotFound(w, r)
				return
			}
			data[idParam] = id
		}
		lang := h.i18n.choose(w, r)
		pd := pageData{
			Lang:     lang,
			Langs:    h.i18n.langs,
			Page:     name,
			Script:   p.script,
			Class:    p.class,
			ReadOnly: h.cfg.ReadOnly,
			HasJoin:  call(h.cfg.JoinURL) != "",
			Catalog:  h.i18n.byLang[lang].msgs,
			Data:     data,
		}
		if name == "network" {
			pd.Invite = call(h.cfg.Invite)
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Language", lang)
		w.Header().Add("Vary", "Accept-Language, Cookie")
		if err := h.tmpl[lang][name].Execute(w, pd); err != nil {
			h.log.Warn("ui: rendering page", "page", name, "err", err)
		}
	}
}

func (h *handler) serveStatic(w http.ResponseWriter, r *http.Request) {
	setSecurityHeaders(w)
	file := r.PathValue("file")
	if h.cfg.ReadOnly && !sharedScripts[file] && !publicScript(file) {
		http.NotFound(w, r)
		return
	}
	if file != path.Base(file) || strings.HasPrefix(file, ".") {
		http.NotFound(w, r)
		return
	}
	// The assets change with the binary; a short cache keeps reloads cheap
	// without pinning a stale script after an upgrade.
	w.Header().Set("Cache-Control", "max-age=60")
	http.ServeFileFS(w, r, h.static, file)
}

func publicScript(file string) bool {
	for name, p := range pages {
		if p.script == file {
			return publicPages[name]
		}
	}
	return false
}

// serveQR renders the join URL or the invite as a QR code. "for" picks
// which of the two; for the join URL, "s" (a session id, checked like a
// page path's) makes it that session's live projection.
func (h *handler) serveQR(w http.ResponseWriter, r *http.Request) {
	setSecurityHeaders(w)
	var content string
	switch r.URL.Query().Get("for") {
	case "join":
		content = call(h.cfg.JoinURL)
		if sid := r.URL.Query().Get("s"); content != "" && sid != "" {
			if !idPattern.MatchString(sid) {
				http.NotFound(w, r)
				return
			}
			content = strings.TrimRight(content, "/") + "/s/" + sid + "/projection"
		}
	case "invite":
		if !h.cfg.ReadOnly {
			content = call(h.cfg.Invite)
		}
	}
	if content == "" {
		http.NotFound(w, r)
		return
	}
	png, err := qrcode.Encode(content, qrcode.Medium, 512)
	if err != nil {
		// A long invite may not fit at medium recovery; low holds more.
		png, err = qrcode.Encode(content, qrcode.Low, 512)
	}
	if err != nil {
		h.log.Warn("ui: QR code", "err", err)
		http.Error(w, "cannot render QR code", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(png)
}

func call(f func() string) string {
	if f == nil {
		return ""
	}
	return f()
}
