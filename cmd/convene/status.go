package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/convene/convene/node"
)

func cmdStatus(ctx context.Context, args []string, stdout io.Writer) error {
	fs, data := newFlags("status")
	asJSON := fs.Bool("json", false, "print the status as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	st, running, err := readStatus(ctx, *data)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	printStatus(stdout, st, running)
	return nil
}

// readStatus asks the running node, or opens the data directory when none
// runs.
func readStatus(ctx context.Context, dir string) (statusView, bool, error) {
	var st statusView
	if c, err := runningNode(ctx, dir); err == nil {
		return st, true, c.do(ctx, "GET", "/status", nil, &st)
	}
	n, err := openExisting(ctx, dir)
	if err != nil {
		return st, false, err
	}
	defer n.Close()
	return newStatusView(n.Status(), n.Identities()), false, nil
}

// statusView is the status in the shape of GET /api/v1/status, so that the
// command prints the same whether it asked a running node or opened the
// store itself.
type statusView struct {
	PeerID    string   `json:"peer_id"`
	Addrs     []string `json:"addrs"`
	Gathering struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"gathering"`
	Identity   node.LocalIdentity   `json:"identity"`
	Identities []node.LocalIdentity `json:"identities"`
	Peers      []node.Peer          `json:"peers"`
	Ops        int                  `json:"ops"`
	Digest     string               `json:"digest"`
	Freshness  node.Freshness       `json:"freshness"`
	StoreSize  int64                `json:"store_size"`
}

func newStatusView(s node.Status, ids []node.LocalIdentity) statusView {
	v := statusView{PeerID: s.PeerID, Addrs: s.Addrs, Identity: s.Identity, Identities: ids,
		Peers: s.Peers, Ops: s.Ops, Digest: s.Digest, Freshness: s.Freshness, StoreSize: s.StoreSize}
	v.Gathering.ID = s.Gathering.String()
	v.Gathering.Name = s.Name
	return v
}

func printStatus(w io.Writer, st statusView, running bool) {
	state := "not running"
	if running {
		state = "running"
	}
	fmt.Fprintf(w, "gathering:  %s (%s)\n", st.Gathering.Name, st.Gathering.ID)
	fmt.Fprintf(w, "node:       %s\n", state)
	if st.PeerID != "" {
		fmt.Fprintf(w, "peer id:    %s\n", st.PeerID)
	}
	for _, a := range st.Addrs {
		fmt.Fprintf(w, "listen:     %s\n", a)
	}
	fmt.Fprintf(w, "identity:   %s (%s)\n", st.Identity.Name, st.Identity.ID)
	for _, id := range st.Identities {
		if id.ID == st.Identity.ID {
			continue // the line above
		}
		fmt.Fprintf(w, "  identity: %s (%s)\n", id.Name, id.ID)
	}
	fmt.Fprintf(w, "operations: %d\n", st.Ops)
	fmt.Fprintf(w, "digest:     %s\n", st.Digest)
	fmt.Fprintf(w, "store size: %d bytes\n", st.StoreSize)
	if st.Freshness.LastSync.IsZero() {
		fmt.Fprintf(w, "last sync:  never\n")
	} else {
		fmt.Fprintf(w, "last sync:  %s with %d peers\n", st.Freshness.LastSync.Format("2006-01-02 15:04:05Z07:00"), st.Freshness.Peers)
	}
	fmt.Fprintf(w, "peers:      %d\n", len(st.Peers))
	for _, p := range st.Peers {
		fmt.Fprintf(w, "  %s via %s since %s\n", p.PeerID, p.Via, p.Since.Format("15:04:05"))
	}
}
