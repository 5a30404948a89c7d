package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/node"
	"github.com/convene/convene/node/mesh"
)

func cmdRelay(ctx context.Context, args []string, stdout io.Writer) error {
	fs, data := newFlags("relay")
	var listen, peers addrList
	var gatherings stringList
	fs.Var(&listen, "listen", "listen multiaddr (repeatable, at least one), e.g. /ip4/0.0.0.0/tcp/4001")
	fs.Var(&peers, "peer", "another hub or node to keep connected to (repeatable)")
	fs.Var(&gatherings, "gathering", "hub `TICKET` of a gathering to serve (repeatable, also for several epochs of one gathering; run convene status on a member laptop and copy its \"hub ticket:\" line)")
	noMDNS := fs.Bool("no-mdns", false, "do not discover peers on the LAN by mDNS")
	syncInterval := syncIntervalFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	if err := checkSyncInterval(*syncInterval); err != nil {
		return err
	}
	if len(listen) == 0 {
		return usagef("give at least one --listen address")
	}
	if len(gatherings) == 0 {
		return usagef("give at least one --gathering TICKET")
	}
	tickets := make([]crdt.Ticket, len(gatherings))
	for i, s := range gatherings {
		t, err := parseHubTicket(s)
		if err != nil {
			return err
		}
		tickets[i] = t
	}
	if err := os.MkdirAll(*data, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	r, err := node.OpenRelay(ctx, node.RelayConfig{
		Dir:        *data,
		Gatherings: tickets,
		Mesh:       mesh.Config{Listen: listen, Peers: peers, MDNS: !*noMDNS, SyncInterval: *syncInterval, Logger: log},
		Logger:     log,
	})
	if err != nil {
		return err
	}
	defer r.Close()
	for _, a := range r.Mesh().Addrs() {
		fmt.Fprintf(stdout, "listen: %s\n", a)
	}
	for _, t := range tickets {
		log.Info("serving gathering", "id", t.Gathering, "epoch", t.Epoch)
	}
	<-ctx.Done()
	log.Info("shutting down")
	return nil
}

// parseHubTicket reads a --gathering value. A bare gathering id is what
// hubs were given before admission; it no longer lets a hub refuse
// outsiders, so it is refused with where to find the ticket.
func parseHubTicket(s string) (crdt.Ticket, error) {
	if _, err := crdt.ParseGatheringID(strings.TrimSpace(s)); err == nil {
		return crdt.Ticket{}, usagef("--gathering takes a hub ticket, not a gathering id: run `convene status` on a member laptop and copy its \"hub ticket:\" line")
	}
	t, err := crdt.ParseTicket(s)
	if err != nil {
		return crdt.Ticket{}, usagef("--gathering: %v (`convene status` on a member laptop prints the hub ticket)", err)
	}
	return t, nil
}

// printHubTicket prints the line `convene status` adds for hubs: the
// ticket of the newest epoch the data directory holds (after a rotation, a
// hub started with it serves what members write now; a hub already running
// is handed it by the members). It says nothing where there is no
// gathering.
func printHubTicket(w io.Writer, dir string) {
	if t, err := node.NewestTicket(dir); err == nil {
		fmt.Fprintf(w, "hub ticket: %s\n", t)
	}
}
