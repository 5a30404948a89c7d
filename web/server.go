// Package web is a node's localhost HTTP server: the JSON API v1 that the
// pages, scripts and other tools use, a Server-Sent Events stream of
// changes, the iCalendar export, and the defences a localhost server needs
// against other web pages (Host check, bearer token or CSRF check, strict
// headers). The pages themselves come from package web/ui as an
// http.Handler.
package web

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/convene/convene/internal/httpsec"
	"github.com/convene/convene/node"
	"github.com/convene/convene/web/apiv1"
)

// Names the browser UI uses for its CSRF protection: the server sets the
// cookie on every page served to this machine; same-origin script copies its
// value into the header of every state-changing request. Clients on other
// machines get no cookie and must send the API token.
const (
	CSRFCookie = "convene_csrf"
	CSRFHeader = "X-CSRF-Token"
)

// APIPrefix is where the JSON API lives.
const APIPrefix = apiv1.Prefix

// Config says how to serve a node.
type Config struct {
	Node *node.Node
	// Addr is the UI address as given on the command line (127.0.0.1:7777).
	// Requests must name it, localhost or a loopback address as their Host.
	Addr string
	// Token is the content of DATA/api-token (see LoadOrCreateToken).
	Token string
	// PublicAddr is the --ui-public address, if any. Requests to the
	// public handler must name it, localhost or an IP literal as their Host.
	PublicAddr string
	// UI serves the pages; nil serves none.
	UI     http.Handler
	Logger *slog.Logger
	// Heartbeat is how often the event stream sends a comment to keep
	// proxies and browsers from timing it out; zero means 15 s.
	Heartbeat time.Duration
}

// Server serves one node's API and pages. Create it with New.
type Server struct {
	node      *node.Node
	ui        http.Handler
	log       *slog.Logger
	token     []byte
	csrf      string
	addr      hostName // the UI address
	public    hostName // the public address, if any
	streams   streamLimit
	heartbeat time.Duration

	// ctx ends open event streams when the server shuts down, so that
	// http.Server.Shutdown does not wait on them.
	ctx    context.Context
	cancel context.CancelFunc

	api     *http.ServeMux
	handler http.Handler
}

// New returns a server for cfg.Node. Call Close when shutting down (or
// register it with http.Server.RegisterOnShutdown).
func New(cfg Config) (*Server, error) {
	if cfg.Node == nil {
		return nil, errors.New("web: no node")
	}
	if len(cfg.Token) < 16 {
		return nil, errors.New("web: API token missing or too short")
	}
	s := &Server{
		node:      cfg.Node,
		ui:        cfg.UI,
		log:       cfg.Logger,
		token:     []byte(cfg.Token),
		csrf:      csrfValue(cfg.Token),
		heartbeat: cfg.Heartbeat,
	}
	if err := s.setAddr(cfg.Addr); err != nil {
		return nil, err
	}
	if cfg.PublicAddr != "" {
		if err := s.public.set(cfg.PublicAddr); err != nil {
			return nil, err
		}
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.heartbeat <= 0 {
		s.heartbeat = 15 * time.Second
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.api = s.apiMux(false)
	s.handler = s.buildHandler()
	return s, nil
}

// Handler is the full localhost handler: API and pages.
func (s *Server) Handler() http.Handler { return s.handler }

// PublicHandler is the read-only handler for --ui-public: GET of the
// projection and events pages (from pages, the read-only UI handler; nil
// serves no pages), their static assets, and the JSON they read. The Host
// must be Config.PublicAddr, localhost or an IP literal: a page whose name
// rebinds to a LAN address must not read through a visitor's browser.
// Other paths are 404 and other methods 405.
func (s *Server) PublicHandler(pages http.Handler) http.Handler { return s.buildPublic(pages) }

// Close ends open event streams. It does not close the node.
func (s *Server) Close() { s.cancel() }

// setAddr notes the names the UI address gives the server.
func (s *Server) setAddr(addr string) error {
	return s.addr.set(addr)
}

// hostName is the name an address gives a server, for the Host check.
type hostName struct {
	host  string // lower case, without brackets
	port  string // "" or "0" when any port will do
	anyIP bool   // an unspecified address: any IP literal is a name of ours
}

func (n *hostName) set(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("web: UI address %q must be host:port: %w", addr, err)
	}
	n.host, n.port = strings.ToLower(strings.TrimSuffix(host, ".")), port
	ip := net.ParseIP(host)
	n.anyIP = host == "" || (ip != nil && ip.IsUnspecified())
	return nil
}

// csrfValue derives the CSRF cookie value from the API token: secret and
// random per data directory, yet stable across restarts, so a page left open
// keeps working when its node restarts.
func csrfValue(token string) string {
	m := hmac.New(sha256.New, []byte(token))
	m.Write([]byte("convene/v1/csrf"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (s *Server) buildHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle(APIPrefix+"/", s.api)
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, apiv1.CodeNotFound, "no such API endpoint")
	})
	mux.HandleFunc("/", s.servePage)
	return securityHeaders(refuseCrossSite(s.checkHost(s.checkRemote(s.checkWrite(s.limitStreams(mux))))))
}

// servePage hands a page request to the UI, setting the CSRF cookie on
// the way for a browser on this machine.
func (s *Server) servePage(w http.ResponseWriter, r *http.Request) {
	if (r.Method == http.MethodGet || r.Method == http.MethodHead) && fromLoopback(r) {
		http.SetCookie(w, &http.Cookie{
			Name:     CSRFCookie,
			Value:    s.csrf,
			Path:     "/",
			SameSite: http.SameSiteStrictMode,
		})
	}
	if s.ui == nil {
		writeError(w, http.StatusNotFound, apiv1.CodeNotFound, "no pages are served here")
		return
	}
	s.ui.ServeHTTP(w, r)
}

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpsec.Set(w.Header())
		next.ServeHTTP(w, r)
	})
}

// checkHost refuses requests that name a host other than ours: a page on
// another site that rebinds its name to 127.0.0.1 still sends its own name.
func (s *Server) checkHost(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.hostAllowed(r.Host) {
			writeError(w, http.StatusForbidden, apiv1.CodeForbidden, "Host header is not this node's UI address, localhost or a loopback address")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) hostAllowed(hostport string) bool {
	return s.addr.allows(hostport)
}

// allows reports whether a request's Host names this server: localhost, a
// loopback address, the address itself, or with anyIP any IP literal.
func (n hostName) allows(hostport string) bool {
	if hostport == "" {
		return false
	}
	host, port := hostport, ""
	if h, p, err := net.SplitHostPort(hostport); err == nil {
		host, port = h, p
	} else if strings.HasPrefix(hostport, "[") && strings.HasSuffix(hostport, "]") {
		host = hostport[1 : len(hostport)-1]
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	if ip != nil && ip.IsLoopback() {
		return true
	}
	if n.anyIP && ip != nil {
		// Listening on every interface: the node is reached by one of its
		// addresses. An IP literal cannot be rebound by another site.
		return true
	}
	if host != n.host {
		return false
	}
	return n.port == "" || n.port == "0" || port == n.port || (port == "" && n.port == "80")
}

// refuseCrossSite refuses API requests that a browser says another site's
// page made: even a GET can be costly (an export) or leak through a
// response the page should not see.
func refuseCrossSite(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/") && r.Header.Get("Sec-Fetch-Site") == "cross-site" {
			writeError(w, http.StatusForbidden, apiv1.CodeForbidden, "cross-site request refused")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// fromLoopback reports whether a request came from this machine.
func fromLoopback(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkRemote lets a request from another machine through only with the
// API token: the full handler shows the invite, which is the gathering's
// secret, and the pages' CSRF cookie would let anyone on the network write.
// The read-only handler (PublicHandler) is the one for other machines.
func (s *Server) checkRemote(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fromLoopback(r) || s.bearerOK(r) {
			next.ServeHTTP(w, r)
			return
		}
		writeError(w, http.StatusForbidden, apiv1.CodeForbidden,
			"from another machine send Authorization: Bearer TOKEN, or open the read-only address that convene run --ui-public serves")
	})
}

// bearerOK reports whether a request carries the API token.
func (s *Server) bearerOK(r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(strings.TrimSpace(tok)), s.token) == 1
}

// checkWrite lets a state-changing request through only with the API token
// or the browser UI's CSRF proof.
func (s *Server) checkWrite(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			next.ServeHTTP(w, r)
			return
		}
		if msg := s.authorize(r); msg != "" {
			writeError(w, http.StatusForbidden, apiv1.CodeForbidden, msg)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// authorize returns "" for an authorized request, or why it is not.
func (s *Server) authorize(r *http.Request) string {
	if r.Header.Get("Authorization") != "" {
		if !s.bearerOK(r) {
			return "wrong API token"
		}
		return ""
	}
	if !fromLoopback(r) {
		// The CSRF cookie is only handed to browsers on this machine.
		return "requests from another machine need Authorization: Bearer TOKEN"
	}
	hdr := r.Header.Get(CSRFHeader)
	if hdr == "" {
		return "state-changing requests need Authorization: Bearer TOKEN or the " + CSRFHeader + " header"
	}
	c, err := r.Cookie(CSRFCookie)
	if err != nil {
		return "CSRF cookie missing: reload the page"
	}
	if subtle.ConstantTimeCompare([]byte(hdr), []byte(c.Value)) != 1 ||
		subtle.ConstantTimeCompare([]byte(c.Value), []byte(s.csrf)) != 1 {
		return "CSRF token does not match: reload the page"
	}
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if err != nil || !strings.EqualFold(u.Host, r.Host) || (u.Scheme != "http" && u.Scheme != "https") {
			return "cross-origin request refused"
		}
	}
	if sfs := r.Header.Get("Sec-Fetch-Site"); sfs != "" && sfs != "same-origin" {
		return "cross-site request refused"
	}
	return ""
}
