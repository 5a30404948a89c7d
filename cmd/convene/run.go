package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/node"
	"github.com/convene/convene/node/mesh"
	"github.com/convene/convene/web"
	"github.com/convene/convene/web/ui"
)

func cmdRun(ctx context.Context, args []string, stdout io.Writer) error {
	fs, data := newFlags("run")
	name := fs.String("name", "", "the gathering's name: names a new gathering (asked on a terminal; default \""+defaultGatheringName+"\"), or renames this one (facilitators only)")
	identity := fs.String("identity", "", "your name: names you in a new gathering (asked on a terminal; default \""+defaultFounderName+"\"), or renames this laptop's identity")
	uiAddr := fs.String("ui", "127.0.0.1:7777", "address of the browser UI and HTTP API (port 0: a free port)")
	publicAddr := fs.String("ui-public", "", "also serve the projection and events read-only on this address (for phones on the LAN)")
	noMDNS := fs.Bool("no-mdns", false, "do not discover peers on the LAN by mDNS")
	syncInterval := syncIntervalFlag(fs)
	var listen, peers, hubs addrList
	fs.Var(&listen, "listen", "libp2p listen multiaddr (repeatable; default TCP and QUIC on all interfaces, free ports)")
	fs.Var(&peers, "peer", "static peer multiaddr with /p2p/ID (repeatable)")
	fs.Var(&hubs, "hub", "hub multiaddr with /p2p/ID (repeatable)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	if err := checkHostPort("--ui", *uiAddr); err != nil {
		return err
	}
	if err := checkLoopback("--ui", *uiAddr); err != nil {
		return err
	}
	if err := checkSyncInterval(*syncInterval); err != nil {
		return err
	}
	if *publicAddr != "" {
		if err := checkHostPort("--ui-public", *publicAddr); err != nil {
			return err
		}
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))

	// Another node on this directory holds its store: say where it is,
	// rather than fail on the store's lock.
	if _, err := runningNode(ctx, *data); err == nil {
		return alreadyRunning(*data)
	}
	// The UI's addresses are taken before anything else, so that a port in
	// use fails before a new data directory, or a gathering in it, exists.
	ln, err := net.Listen("tcp", *uiAddr)
	if err != nil {
		return fmt.Errorf("UI address: %w", err)
	}
	defer ln.Close()
	var publicLn net.Listener
	if *publicAddr != "" {
		if publicLn, err = net.Listen("tcp", *publicAddr); err != nil {
			return fmt.Errorf("public UI address: %w", err)
		}
		defer publicLn.Close()
	}

	if err := os.MkdirAll(*data, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	invitePeers, err := node.LoadInvitePeers(*data)
	if err != nil {
		return err
	}
	raw, err := skewedClock()
	if err != nil {
		return err
	}
	// The node stamps and judges operations by the room's time: its own
	// clock corrected by the offset the mesh measures from its peers.
	clock := mesh.NewClock(raw)
	n, err := openOrCreate(ctx, node.Config{Dir: *data, Logger: log, Now: clock.Now, ClockReady: clock.Measured()}, *name, *identity, log)
	if err != nil {
		return err
	}
	defer n.Close()
	remembered, err := node.LoadRemembered(*data)
	if err != nil {
		log.Warn("remembered peers not read; starting without them", "err", err)
	}
	mcfg := mesh.Config{
		Listen:       listen,
		Peers:        peers,
		InvitePeers:  invitePeers,
		Hubs:         hubs,
		MDNS:         !*noMDNS,
		SyncInterval: *syncInterval,
		Logger:       log,
		Clock:        clock,
		Remembered:   remembered,
	}
	m, err := connect(ctx, n, mcfg, *data, log)
	if err != nil {
		return err
	}
	defer m.Close()
	go rememberPeers(ctx, m, *data, log)
	defer func() {
		if err := node.RememberPeers(*data, m.Synced(), time.Now()); err != nil {
			log.Warn("remembering peers", "err", err)
		}
	}()
	if *noMDNS && len(peers) == 0 && len(hubs) == 0 && len(invitePeers) == 0 && len(remembered) == 0 {
		fmt.Fprintln(notes, "note: --no-mdns, and no --peer, --hub, remembered peers or addresses in the invite: this node meets only the peers that dial it. "+
			"Give it --peer (another laptop's listen: line) or join with the invite that `convene invite` prints beside a running node")
	}

	token, err := web.LoadOrCreateToken(*data)
	if err != nil {
		return err
	}
	joinURL := func() string {
		if publicLn == nil {
			return ""
		}
		return "http://" + reachableHostPort(publicLn.Addr()) + "/"
	}
	pages, err := ui.New(ui.Config{JoinURL: joinURL, Invite: func() string { return n.Invite().String() }, Logger: log})
	if err != nil {
		return err
	}
	srv, err := web.New(web.Config{Node: n, Addr: ln.Addr().String(), PublicAddr: *publicAddr, Token: token, UI: pages, Logger: log})
	if err != nil {
		return err
	}
	servers := []*http.Server{web.HTTPServer(srv.Handler())}
	listeners := []net.Listener{ln}
	if publicLn != nil {
		publicPages, err := ui.New(ui.Config{ReadOnly: true, JoinURL: joinURL, Logger: log})
		if err != nil {
			return err
		}
		servers = append(servers, web.HTTPServer(srv.PublicHandler(publicPages)))
		listeners = append(listeners, publicLn)
	}
	errc := make(chan error, len(servers))
	for i := range servers {
		go func() { errc <- servers[i].Serve(listeners[i]) }()
	}

	// The run file comes before the lines that announce the node, so
	// that whoever reads them can already reach it with other commands.
	uiURL := "http://" + ln.Addr().String() + "/"
	addrs := n.Status().Addrs
	if err := writeRunFile(*data, runFile{UI: uiURL, PID: os.Getpid(), Addrs: addrs}); err != nil {
		return err
	}
	if err := saveListen(*data, addrs); err != nil {
		log.Warn("the listen ports will not be reused next run", "err", err)
	}
	defer removeRunFile(*data)
	fmt.Fprintf(stdout, "ui: %s\n", uiURL)
	if publicLn != nil {
		fmt.Fprintf(stdout, "public: %s\n", joinURL())
	}
	for _, a := range addrs {
		fmt.Fprintf(stdout, "listen: %s\n", a)
	}

	var serveErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case serveErr = <-errc:
		serveErr = fmt.Errorf("UI server stopped: %w", serveErr)
		log.Error("UI server stopped; shutting down", "err", serveErr)
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Close() // ends live streams so Shutdown does not wait for them
	for _, s := range servers {
		s.Shutdown(sctx)
	}
	return serveErr
}

// openOrCreate opens the gathering in cfg.Dir, creating it first on a
// directory that has none, so that the first run needs no other step. A
// name given for a gathering that exists renames it.
func openOrCreate(ctx context.Context, cfg node.Config, name, identity string, log *slog.Logger) (*node.Node, error) {
	n, err := node.Open(ctx, cfg)
	if errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EWOULDBLOCK) {
		// The store's lock is taken: another process runs on this
		// directory but did not answer at its run file's address (it is
		// still starting, or its UI is wedged).
		return nil, alreadyRunning(cfg.Dir)
	}
	if errors.Is(err, node.ErrNoGathering) {
		gname, err := ask.name(ctx, name, "Name of the new gathering", defaultGatheringName)
		if err != nil {
			return nil, err
		}
		who, err := ask.name(ctx, identity, "Your name in "+gname, defaultFounderName)
		if err != nil {
			return nil, err
		}
		if _, err = node.Init(ctx, cfg.Dir, gname, who); err != nil {
			return nil, err
		}
		log.Info("created a new gathering", "dir", cfg.Dir, "name", gname, "identity", who)
		if name == "" {
			fmt.Fprintf(notes, "note: the gathering is named %q; rename it with: convene run --data %s --name NAME\n", gname, cfg.Dir)
		}
		return node.Open(ctx, cfg)
	}
	if err != nil {
		return nil, err
	}
	st := n.Status()
	if identity != "" && identity != st.Identity.Name {
		// As --name renames the gathering, --identity renames this
		// laptop's default identity (its own naming operation).
		if _, err := n.RenameIdentity(ctx, st.Identity.ID, identity); err != nil {
			n.Close()
			return nil, fmt.Errorf("rename %q to %q: %w", st.Identity.Name, identity, err)
		}
		log.Info("renamed this laptop's identity", "from", st.Identity.Name, "to", identity)
	}
	if name != "" && name != st.Name {
		if _, err := n.Act(ctx, crdt.IdentityID{}, &crdt.GatheringBody{Name: name}); err != nil {
			n.Close()
			return nil, fmt.Errorf("rename the gathering to %q: %w", name, err)
		}
		log.Info("renamed the gathering", "from", st.Name, "to", name)
	}
	return n, nil
}

// alreadyRunning is the error of a run on a directory another process
// runs on, with where to find that one when its run file says.
func alreadyRunning(dir string) error {
	if rf, err := readRunFile(dir); err == nil {
		return fmt.Errorf("already running on %s (pid %d, ui %s)", dir, rf.PID, rf.UI)
	}
	return fmt.Errorf("already running on %s: another convene process holds its store", dir)
}

// checkLoopback refuses a UI address other machines can reach: the full UI
// holds the invite (the gathering's secret) and its pages can write.
func checkLoopback(flagName, addr string) error {
	host, _, _ := net.SplitHostPort(addr)
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return usagef("%s %q: must be a loopback address (127.0.0.1, ::1 or localhost); for phones on the LAN add --ui-public ADDR, which is read-only", flagName, addr)
}

// minSyncInterval bounds --sync-interval: shorter periods would have nodes
// do little else than reconcile.
const minSyncInterval = 100 * time.Millisecond

// syncIntervalFlag adds --sync-interval, which tests and labs use to see
// anti-entropy rounds without waiting for the default period. It is left
// out of the usage text (docs/API.md describes it).
func syncIntervalFlag(fs *flag.FlagSet) *time.Duration {
	return fs.Duration("sync-interval", 0, "period of anti-entropy with every peer (default 30s; at least 100ms)")
}

func checkSyncInterval(d time.Duration) error {
	if d != 0 && d < minSyncInterval {
		return usagef("--sync-interval %v: at least %v", d, minSyncInterval)
	}
	return nil
}

func checkHostPort(flagName, addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return usagef("%s %q: want HOST:PORT", flagName, addr)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return usagef("%s %q: bad port", flagName, addr)
	}
	if host != "" && host != "localhost" && net.ParseIP(host) == nil {
		return usagef("%s %q: host must be an IP address or localhost", flagName, addr)
	}
	return nil
}

// reachableHostPort turns a listener address into one a phone can open:
// an unspecified address (0.0.0.0) is replaced by this machine's first
// non-loopback address.
func reachableHostPort(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok || !tcp.IP.IsUnspecified() {
		return a.String()
	}
	ifaddrs, _ := net.InterfaceAddrs()
	for _, ia := range ifaddrs {
		if ipn, ok := ia.(*net.IPNet); ok && ipn.IP.To4() != nil && !ipn.IP.IsLoopback() {
			return net.JoinHostPort(ipn.IP.String(), strconv.Itoa(tcp.Port))
		}
	}
	return a.String()
}

// skewEnv shifts the node's wall clock by a Go duration ("1h", "-90m"):
// a hook for tests and the LAN lab, which need laptops with wrong clocks.
const skewEnv = "CONVENE_CLOCK_SKEW"

// skewedClock is the wall clock shifted by $CONVENE_CLOCK_SKEW, if set.
func skewedClock() (func() time.Time, error) {
	v := os.Getenv(skewEnv)
	if v == "" {
		return time.Now, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return nil, fmt.Errorf("%s=%q: not a duration like 1h or -90m: %w", skewEnv, v, err)
	}
	return func() time.Time { return time.Now().Add(d) }, nil
}

// connect starts the node's mesh. Without --listen it first tries the
// ports of the last run, so that the addresses other laptops remember stay
// valid, and free ports when those are taken.
func connect(ctx context.Context, n *node.Node, cfg mesh.Config, dir string, log *slog.Logger) (*mesh.Mesh, error) {
	if len(cfg.Listen) == 0 {
		if prev := previousListen(dir); len(prev) > 0 {
			c := cfg
			c.Listen = prev
			m, err := n.Connect(ctx, c)
			if err == nil {
				return m, nil
			}
			log.Info("the last run's ports are taken; listening on free ones", "err", err)
		}
	}
	return n.Connect(ctx, cfg)
}

// The peers synced with are saved for the next run as soon as a new one
// appears (a crash must not lose them: checked every rememberCheck), every
// rememberEvery to keep their addresses current, and once more at
// shutdown.
const (
	rememberCheck = 2 * time.Second
	rememberEvery = 30 * time.Second
)

func rememberPeers(ctx context.Context, m *mesh.Mesh, dir string, log *slog.Logger) {
	t := time.NewTicker(rememberCheck)
	defer t.Stop()
	saved := map[peer.ID]bool{}
	var last time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		synced := m.Synced()
		fresh := false
		for _, ai := range synced {
			fresh = fresh || !saved[ai.ID]
		}
		if !fresh && time.Since(last) < rememberEvery {
			continue
		}
		if err := node.RememberPeers(dir, synced, time.Now()); err != nil {
			log.Warn("remembering peers", "err", err)
			continue
		}
		last = time.Now()
		for _, ai := range synced {
			saved[ai.ID] = true
		}
	}
}
