package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// getStream sends the node's changes as Server-Sent Events: "change" with
// the change as JSON, or "resync" when this subscriber fell behind and lost
// changes (re-read everything shown). A comment every heartbeat keeps the
// connection alive through proxies and lets the client see it is.
func (s *Server) getStream(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	// The server's write timeout, if any, must not cut a long stream.
	_ = rc.SetWriteDeadline(time.Time{})

	changes, cancel := s.node.Subscribe()
	defer cancel()

	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if _, err := fmt.Fprint(w, "retry: 2000\n: connected\n\n"); err != nil {
		return
	}
	if err := rc.Flush(); err != nil {
		return
	}

	tick := time.NewTicker(s.heartbeat)
	defer tick.Stop()
	for {
		var err error
		select {
		case <-r.Context().Done():
			return
		case <-s.ctx.Done():
			return
		case <-tick.C:
			_, err = fmt.Fprint(w, ": heartbeat\n\n")
		case c, ok := <-changes:
			if !ok {
				return // the node is closing
			}
			if c.Op.IsZero() {
				_, err = fmt.Fprint(w, "event: resync\ndata: {}\n\n")
				break
			}
			var b []byte
			if b, err = json.Marshal(c); err == nil { // an apiv1.Change
				_, err = fmt.Fprintf(w, "event: change\ndata: %s\n\n", b)
			}
		}
		if err == nil {
			err = rc.Flush()
		}
		if err != nil {
			return
		}
	}
}
