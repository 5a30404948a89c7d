package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"

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
	fs.Var(&gatherings, "gathering", "`ID` of a gathering to serve (repeatable; convene status shows it)")
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
		return usagef("give at least one --gathering ID")
	}
	ids := make([]crdt.GatheringID, len(gatherings))
	for i, s := range gatherings {
		id, err := crdt.ParseGatheringID(s)
		if err != nil {
			return usagef("--gathering %q: want the 64-hex-digit gathering id", s)
		}
		ids[i] = id
	}
	if err := os.MkdirAll(*data, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	r, err := node.OpenRelay(ctx, node.RelayConfig{
		Dir:        *data,
		Gatherings: ids,
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
	for _, g := range ids {
		log.Info("serving gathering", "id", g)
	}
	<-ctx.Done()
	log.Info("shutting down")
	return nil
}
