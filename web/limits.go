package web

import (
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/convene/convene/web/apiv1"
)

// Caps on open event streams. Each is a file descriptor and a goroutine
// held for as long as the client likes; a room of phones on the public
// address needs one each, a laptop's browser a few tabs.
const (
	MaxStreamsPerClient = 8
	MaxStreams          = 256
)

// Timeouts of both HTTP servers. Reading a request (headers and body) is
// bounded; bodies are at most 64 KiB except an imported bundle, which comes
// from this machine's disk. Writing is not bounded: an export or an event
// stream is as long as it is.
const (
	ReadHeaderTimeout = 10 * time.Second
	ReadTimeout       = 2 * time.Minute
	IdleTimeout       = 90 * time.Second
)

// HTTPServer is the http.Server to serve h (Handler or PublicHandler) with:
// the timeouts above, so that a client that opens connections and says
// nothing holds nothing for long.
func HTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		IdleTimeout:       IdleTimeout,
	}
}

// streamLimit counts open event streams, per client address and in all,
// across both handlers of a Server.
type streamLimit struct {
	mu       sync.Mutex
	total    int
	byClient map[string]int
}

// acquire takes a slot for client, or says why it cannot.
func (l *streamLimit) acquire(client string) (release func(), msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.total >= MaxStreams {
		return nil, "too many event streams are open on this node; retry later"
	}
	if l.byClient[client] >= MaxStreamsPerClient {
		return nil, "too many event streams are open from this address; close a tab"
	}
	if l.byClient == nil {
		l.byClient = make(map[string]int)
	}
	l.total++
	l.byClient[client]++
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			l.total--
			if l.byClient[client]--; l.byClient[client] <= 0 {
				delete(l.byClient, client)
			}
		})
	}, ""
}

// limitStreams holds a request for the event stream to the caps.
func (s *Server) limitStreams(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != APIPrefix+"/stream" {
			next.ServeHTTP(w, r)
			return
		}
		release, msg := s.streams.acquire(clientHost(r))
		if msg != "" {
			w.Header().Set("Retry-After", "10")
			writeError(w, http.StatusTooManyRequests, apiv1.CodeTooManyRequests, msg)
			return
		}
		defer release()
		next.ServeHTTP(w, r)
	})
}

// clientHost is the address a request came from, without its port: a
// client opening many connections uses many ports.
func clientHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
