// Package httpsec holds the security headers of every HTTP response a node
// serves, pages and API alike, so that the API server and the page handler
// cannot drift apart.
package httpsec

import "net/http"

// CSP is the Content-Security-Policy: only this origin's scripts, styles,
// images and connections; no inline script, no framing, no plugins.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

// Set sets the security headers on h.
func Set(h http.Header) {
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
}
