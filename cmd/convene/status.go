package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/node/mesh"
	"github.com/convene/convene/web/apiv1"
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
	printHubTicket(stdout, *data)
	return nil
}

// readStatus asks the running node, or opens the data directory when none
// runs.
func readStatus(ctx context.Context, dir string) (statusView, bool, error) {
	if c, err := runningNode(ctx, dir); err == nil {
		ctx, cancel := context.WithTimeout(ctx, jsonRequestTimeout)
		defer cancel()
		var st statusView
		if st.Status, err = c.Status(ctx); err != nil {
			return st, true, refused(err)
		}
		if st.Identities, err = c.Identities(ctx); err != nil {
			return st, true, refused(err)
		}
		return st, true, nil
	}
	n, err := openExisting(ctx, dir)
	if err != nil {
		return statusView{}, false, err
	}
	defer n.Close()
	st := statusView{Status: apiv1.StatusOf(n.Status())}
	n.View(func(s *crdt.State) {
		for _, li := range n.Identities() {
			st.Identities = append(st.Identities, apiv1.LocalIdentity{ID: li.ID, Name: li.Name, Default: li.Default, Facilitator: s.IsFacilitator(li.ID)})
		}
	})
	return st, false, nil
}

// statusView is GET /api/v1/status with the local identities, so that the
// command prints the same whether it asked a running node or opened the
// store itself.
type statusView struct {
	apiv1.Status
	Identities []apiv1.LocalIdentity `json:"identities"`
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
		if id.ID.String() == st.Identity.ID {
			continue // the line above
		}
		fmt.Fprintf(w, "  identity: %s (%s)\n", id.Name, id.ID)
	}
	fmt.Fprintf(w, "operations: %d\n", st.Ops)
	fmt.Fprintf(w, "digest:     %s\n", st.Digest)
	fmt.Fprintf(w, "store size: %d bytes\n", st.StoreSize)
	if st.Freshness.LastSync == nil {
		fmt.Fprintf(w, "last sync:  never\n")
	} else {
		fmt.Fprintf(w, "last sync:  %s with %d peers\n", st.Freshness.LastSync.Format("2006-01-02 15:04:05Z07:00"), st.Freshness.Peers)
	}
	if st.Clock.Warning {
		fmt.Fprintf(w, "clock:      warning: %s (measured from %d peers)\n", st.Clock.Message, st.Clock.Peers)
	}
	fmt.Fprintf(w, "peers:      %d\n", len(st.Peers))
	for _, p := range st.Peers {
		if p.State == mesh.StateUnreachable {
			fmt.Fprintf(w, "  %s via %s unreachable since %s: %s\n", p.PeerID, p.Via, p.Since.Format("15:04:05"), p.Reason)
			continue
		}
		fmt.Fprintf(w, "  %s via %s since %s\n", p.PeerID, p.Via, p.Since.Format("15:04:05"))
	}
}
