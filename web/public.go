package web

import (
	"net/http"

	"github.com/convene/convene/web/apiv1"
)

// buildPublic makes the read-only handler: for phones in the room, on an
// address other machines can reach.
func (s *Server) buildPublic(pages http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle(APIPrefix+"/", s.apiMux(true))
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, apiv1.CodeNotFound, "no such API endpoint")
	})
	if pages != nil {
		// The front page (what this address serves), the projection and
		// events pages; static assets are expected under /static/ (or
		// /assets/).
		for _, p := range []string{
			"GET /{$}",
			"GET /s/{sid}/projection",
			"GET /events",
			"GET /events/{eid}",
			"GET /static/",
			"GET /assets/",
			"GET /favicon.ico",
			"GET /qr.png",
		} {
			mux.Handle(p, pages)
		}
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, apiv1.CodeNotFound, "not served on the public address")
	})
	return securityHeaders(refuseCrossSite(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			writeError(w, http.StatusMethodNotAllowed, apiv1.CodeMethodNotAllowed, "the public address is read-only")
			return
		}
		mux.ServeHTTP(w, r)
	})))
}
