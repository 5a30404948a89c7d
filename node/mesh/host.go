package mesh

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/metrics"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/host/eventbus"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
	cmgr "github.com/libp2p/go-libp2p/p2p/net/connmgr"
	relayv2 "github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/relay"
	"github.com/libp2p/go-libp2p/p2p/protocol/ping"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	libp2ptls "github.com/libp2p/go-libp2p/p2p/security/tls"
	libp2pquic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	"github.com/libp2p/go-libp2p/x/rate"
	"github.com/multiformats/go-multiaddr"

	"github.com/convene/convene/crdt"
)

// Config says how to run a mesh.
type Config struct {
	Key         crypto.PrivKey        // persistent libp2p key (the node keeps it in peer.key)
	Listen      []multiaddr.Multiaddr // nil: TCP and QUIC on all interfaces, free ports
	Peers       []multiaddr.Multiaddr // static peers, with /p2p/ID
	InvitePeers []multiaddr.Multiaddr // addresses carried by an invite, with /p2p/ID
	Hubs        []multiaddr.Multiaddr // hubs, with /p2p/ID
	MDNS        bool
	// Hub runs a circuit relay v2 service with its limits lifted, so that
	// relayed connections are not "limited" and GossipSub uses them.
	Hub bool
	// SyncInterval is the period of anti-entropy with every peer
	// (jittered); zero means 30s.
	SyncInterval time.Duration
	// Gater, if set, vets every connection; the testnet uses it to cut
	// partitions, tests to keep peers apart.
	Gater  connmgr.ConnectionGater
	Logger *slog.Logger
	// Now is the mesh's clock (nil: time.Now). Stream and socket deadlines
	// still use the real clock: the transports compare them against it.
	Now func() time.Time
	// Remembered are peers this node synced with on earlier runs (see
	// Synced): dialled at start, all at once, and kept while reachable.
	Remembered []peer.AddrInfo
	// Clock measures this laptop's offset from its peers (nil: one over
	// Now's clock, uncorrected). The node stamps operations with its Now.
	Clock *Clock
	// HostOptions are added after the mesh's own options for its libp2p
	// host, so that one set here wins. The testnet and the benchmark pass
	// go-libp2p's simulated network (x/simlibp2p's QUICSimnet, with
	// Listen a simulated QUIC address) to run real meshes over a LAN
	// with latency and bandwidth, in virtual time under testing/synctest.
	HostOptions []libp2p.Option
	// Bandwidth, if set, also gets every byte count the host reports. A
	// host takes one reporter and the mesh's own (liveness) is it, so a
	// caller that measures traffic chains here rather than in HostOptions.
	Bandwidth metrics.Reporter
}

// DefaultListen are the listen addresses used when Config.Listen is empty.
func DefaultListen() []multiaddr.Multiaddr {
	var out []multiaddr.Multiaddr
	for _, s := range []string{
		"/ip4/0.0.0.0/tcp/0", "/ip4/0.0.0.0/udp/0/quic-v1",
		"/ip6/::/tcp/0", "/ip6/::/udp/0/quic-v1",
	} {
		out = append(out, multiaddr.StringCast(s))
	}
	return out
}

// ErrNotJoined is returned for a gathering this mesh has not joined.
var ErrNotJoined = errors.New("gathering not joined")

// ErrClosed is returned once the mesh is closed.
var ErrClosed = errors.New("mesh closed")

// Mesh is a running libp2p host replicating the gatherings joined to it.
type Mesh struct {
	prefixes prefixCache // this host's subnets, for peer exchange
	// writeBufs: the buffers sessions queue their frames in (frameWriter),
	// kept from one session to the next.
	writeBufs sync.Pool
	log       *slog.Logger
	cfg       Config
	h         host.Host
	cm        *cmgr.BasicConnMgr
	ps        *pubsub.PubSub
	codec     *codec

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu         sync.Mutex
	gatherings map[crdt.GatheringID]*gathering
	peers      map[peer.ID]*peerState
	intents    map[peer.ID]string // how a dial in flight found its peer
	dialing    map[peer.ID]bool
	found      map[peer.ID]bool              // discovered peers being kept connected
	authors    map[peer.ID][]crdt.IdentityID // who acts on a peer (authors.go)
	ended      chan struct{}                 // closed and replaced when a session ends
	closed     bool

	stats stats
	bans  *bans

	sessionTimeout time.Duration // the constant sessionTimeout; tests shorten it
	live           liveness
	heard          *heard // bytes read per peer, for liveness
	clock          *Clock
	meshPeers      *meshPeers // who is in each topic's GossipSub mesh (GossipPeers)
}

// New starts a host listening on cfg.Listen and the discovery paths cfg
// enables. Ctx bounds start-up only; Close stops everything.
func New(ctx context.Context, cfg Config) (*Mesh, error) {
	if cfg.Key == nil {
		return nil, errors.New("mesh: no key")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Clock == nil {
		cfg.Clock = NewClock(cfg.Now)
	}
	if cfg.SyncInterval <= 0 {
		cfg.SyncInterval = 30 * time.Second
	}
	if len(cfg.Listen) == 0 {
		cfg.Listen = DefaultListen()
	}
	var targets []dialTarget
	for _, l := range []struct {
		via   string
		addrs []multiaddr.Multiaddr
	}{{ViaStatic, cfg.Peers}, {ViaInvite, cfg.InvitePeers}, {ViaHub, cfg.Hubs}} {
		for _, a := range l.addrs {
			ai, err := peer.AddrInfoFromP2pAddr(a)
			if err != nil {
				return nil, fmt.Errorf("mesh: %s peer %s: %w", l.via, a, err)
			}
			targets = append(targets, dialTarget{info: *ai, via: l.via})
		}
	}

	lim := venueLimits(cfg.Hub)
	rm, err := lim.resourceManager()
	if err != nil {
		return nil, fmt.Errorf("mesh: resource manager: %w", err)
	}
	cm, err := cmgr.NewConnManager(lim.connLow, lim.connHigh, cmgr.WithGracePeriod(time.Minute))
	if err != nil {
		rm.Close()
		return nil, fmt.Errorf("mesh: connection manager: %w", err)
	}
	heardFrom := &heard{next: cfg.Bandwidth}
	opts := []libp2p.Option{
		libp2p.Identity(cfg.Key),
		libp2p.ListenAddrs(cfg.Listen...),
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Transport(libp2pquic.NewTransport),
		libp2p.Security(noise.ID, noise.New),
		libp2p.Security(libp2ptls.ID, libp2ptls.New),
		libp2p.ResourceManager(rm),
		libp2p.ConnectionManager(cm),
		libp2p.DisableMetrics(),
		libp2p.UserAgent("convene"),
		libp2p.BandwidthReporter(heardFrom),
	}
	bans := newBans(cfg.Now)
	opts = append(opts, libp2p.ConnectionGater(gater{b: bans, inner: cfg.Gater}))
	if cfg.Hub {
		opts = append(opts,
			libp2p.EnableRelayService(relayv2.WithResources(lim.relay), relayv2.WithInfiniteLimits()),
			libp2p.ForceReachabilityPublic(),
		)
	} else if len(cfg.Hubs) > 0 {
		var relays []peer.AddrInfo
		for _, t := range targets {
			if t.via == ViaHub {
				relays = append(relays, t.info)
			}
		}
		opts = append(opts, libp2p.EnableAutoRelayWithStaticRelays(relays))
	}
	opts = append(opts, cfg.HostOptions...)
	h, err := libp2p.New(opts...)
	if err != nil {
		// libp2p closes them only on some of its failures; closing twice
		// is harmless.
		cm.Close()
		rm.Close()
		return nil, fmt.Errorf("mesh: host: %w", err)
	}
	// Subscribe before anything can dial, so no connection goes unseen.
	events, err := h.EventBus().Subscribe(new(event.EvtPeerConnectednessChanged), eventbus.BufSize(1024))
	if err != nil {
		h.Close()
		return nil, fmt.Errorf("mesh: event bus: %w", err)
	}
	c, err := newCodec()
	if err != nil {
		events.Close()
		h.Close()
		return nil, err
	}
	m := &Mesh{
		log:        cfg.Logger.With("peer", h.ID().ShortString()),
		cfg:        cfg,
		h:          h,
		cm:         cm,
		codec:      c,
		bans:       bans,
		gatherings: make(map[crdt.GatheringID]*gathering),
		peers:      make(map[peer.ID]*peerState),
		intents:    make(map[peer.ID]string),
		dialing:    make(map[peer.ID]bool),
		found:      make(map[peer.ID]bool),
		ended:      make(chan struct{}),

		sessionTimeout: sessionTimeout,
		live:           newLiveness(),
		heard:          heardFrom,
		clock:          cfg.Clock,
		meshPeers:      newMeshPeers(),
	}
	for _, t := range targets {
		if _, ok := m.intents[t.info.ID]; !ok {
			m.intents[t.info.ID] = t.via
		}
	}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	grafted := make(grafts, graftQueue)
	m.ps, err = pubsub.NewGossipSub(m.ctx, h,
		// Send a node's own operations to every peer on the topic, not
		// only to its mesh: faster, and not lost while the mesh forms
		// (GossipSub v0.17 leaves this off by default).
		pubsub.WithFloodPublish(true),
		pubsub.WithMaxMessageSize(maxBatchBytes+64<<10),
		pubsub.WithValidateQueueSize(4096),
		pubsub.WithPeerOutboundQueueSize(1024),
		pubsub.WithLogger(cfg.Logger.With("component", "pubsub")),
		pubsub.WithPeerScore(m.scoreParams(), scoreThresholds),
		pubsub.WithRawTracer(grafted),
		pubsub.WithRawTracer(m.meshPeers),
	)
	if err != nil {
		m.cancel()
		events.Close()
		c.close()
		h.Close()
		return nil, fmt.Errorf("mesh: gossipsub: %w", err)
	}
	m.wg.Go(func() { m.followEvents(events) })
	m.wg.Go(func() { m.followGrafts(grafted) })
	h.SetStreamHandler(reconProto, m.track(m.handleRecon))
	h.SetStreamHandler(pexProto, m.track(m.handlePEX))
	h.SetStreamHandler(timeProto, m.track(m.handleTime))
	h.SetStreamHandler(handoverProto, m.track(m.handleHandover))
	for _, t := range targets {
		m.wg.Go(func() { m.keepConnected(t) })
	}
	if cfg.MDNS {
		m.wg.Go(m.runMDNS)
	}
	m.wg.Go(m.syncLoop)
	m.wg.Go(m.livenessLoop)
	m.wg.Go(m.clockLoop)
	m.remember(cfg.Remembered)
	return m, nil
}

// now is the mesh's clock.
func (m *Mesh) now() time.Time { return m.cfg.Now() }

// ID is the host's peer id.
func (m *Mesh) ID() string { return m.h.ID().String() }

// Addrs are the host's listen addresses, each ending in /p2p/ID.
func (m *Mesh) Addrs() []string {
	addrs, err := peer.AddrInfoToP2pAddrs(&peer.AddrInfo{ID: m.h.ID(), Addrs: m.h.Addrs()})
	if err != nil {
		return nil
	}
	out := make([]string, len(addrs))
	for i, a := range addrs {
		out[i] = a.String()
	}
	return out
}

// Host is the libp2p host, for tests and the testnet.
func (m *Mesh) Host() host.Host { return m.h }

// enter admits work that Close must wait for (a stream handler, a
// SyncNow), unless the mesh is closed; the caller calls m.wg.Done when it
// is through.
func (m *Mesh) enter() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return false
	}
	m.wg.Add(1)
	return true
}

// track makes a stream handler one that Close waits for. libp2p runs
// handlers on its own goroutines; one still inside a replica when Close
// returns would use the node's store after the node closed it.
func (m *Mesh) track(h network.StreamHandler) network.StreamHandler {
	return func(s network.Stream) {
		if !m.enter() {
			s.Reset()
			return
		}
		defer m.wg.Done()
		h(s)
	}
}

// Close stops every goroutine and closes the host. When it returns, the
// mesh no longer uses the replicas joined to it.
func (m *Mesh) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	gs := make([]*gathering, 0, len(m.gatherings))
	for _, g := range m.gatherings {
		gs = append(gs, g)
	}
	m.mu.Unlock()
	m.cancel()
	m.h.RemoveStreamHandler(reconProto)
	m.h.RemoveStreamHandler(pexProto)
	m.h.RemoveStreamHandler(timeProto)
	m.h.RemoveStreamHandler(handoverProto)
	for _, g := range gs {
		g.sub.Cancel()
	}
	err := m.h.Close()
	m.wg.Wait()
	for _, g := range gs {
		g.topic.Close()
	}
	m.codec.close()
	return err
}

// limits are the resource limits of a venue node or a hub.
type limits struct {
	scaled   rcmgr.ConcreteLimitConfig
	connV4   []rcmgr.ConnLimitPerSubnet
	connV6   []rcmgr.ConnLimitPerSubnet
	rate     *rate.Limiter
	connLow  int
	connHigh int
	relay    relayv2.Resources
}

// venueLimits scales libp2p's defaults up for a room of laptops. The
// defaults allow 8 connections per IPv4 address, and a few new ones per
// minute, but at a hub every laptop of a venue may arrive from one NAT
// address; so the per-address limits are raised far above the defaults.
// (libp2p never applies them on loopback, so only a test of these values,
// not of behaviour on 127.0.0.1, shows that they are right.)
func venueLimits(hub bool) limits {
	scaling := rcmgr.DefaultLimits
	libp2p.SetDefaultServiceLimits(&scaling)
	l := limits{
		connV4:   []rcmgr.ConnLimitPerSubnet{{PrefixLength: 32, ConnCount: 256}},
		connV6:   []rcmgr.ConnLimitPerSubnet{{PrefixLength: 56, ConnCount: 256}, {PrefixLength: 48, ConnCount: 1024}},
		connLow:  96,
		connHigh: 192,
		relay:    relayv2.DefaultResources(),
	}
	mem, fds := int64(1<<30), 4096
	burst := 512
	if hub {
		mem, fds, burst = 4<<30, 16384, 2048
		l.connV4[0].ConnCount = 1024
		l.connV6 = []rcmgr.ConnLimitPerSubnet{{PrefixLength: 56, ConnCount: 1024}, {PrefixLength: 48, ConnCount: 4096}}
		l.connLow, l.connHigh = 768, 1536
		l.relay.Limit = nil
		l.relay.MaxReservations = 1024
		l.relay.MaxCircuits = 64
		l.relay.BufferSize = 16 << 10
		l.relay.MaxReservationsPerIP = 1024
		l.relay.MaxReservationsPerASN = 1024
	}
	// Every peer keeps a ping stream open to this node, and this node one
	// to every peer (liveness.go): libp2p's default limits for ping (64 to
	// 320 streams each way, by memory) would refuse the streams of a room
	// past them, and those peers' pings would fail.
	pings := rcmgr.BaseLimit{StreamsInbound: 2 * l.connHigh, StreamsOutbound: 2 * l.connHigh, Streams: 4 * l.connHigh, Memory: 4 << 20}
	scaling.AddServiceLimit(ping.ServiceName, pings, rcmgr.BaseLimitIncrease{})
	scaling.AddProtocolLimit(ping.ID, pings, rcmgr.BaseLimitIncrease{})
	// Connections count against "transient" until their handshake ends;
	// a venue arriving at once (or a hub restarting) opens many together.
	conns, transient := 1024, 256
	if hub {
		conns, transient = 8192, 2048
	}
	scaled := scaling.Scale(mem, fds)
	base := scaled.ToPartialLimitConfig()
	raise := func(r *rcmgr.ResourceLimits, n int) {
		r.Conns = atLeast(r.Conns, n)
		r.ConnsInbound = atLeast(r.ConnsInbound, n/2)
		r.ConnsOutbound = atLeast(r.ConnsOutbound, n/2)
		r.FD = atLeast(r.FD, min(n, fds/2))
	}
	raise(&base.System, conns)
	raise(&base.Transient, transient)
	l.scaled = base.Build(scaled)
	l.rate = &rate.Limiter{
		NetworkPrefixLimits: []rate.PrefixLimit{
			{Prefix: netip.MustParsePrefix("127.0.0.0/8")},
			{Prefix: netip.MustParsePrefix("::1/128")},
		},
		SubnetRateLimiter: rate.SubnetLimiter{
			IPv4SubnetLimits: []rate.SubnetLimit{{PrefixLength: 32, Limit: rate.Limit{RPS: 10, Burst: burst}}},
			IPv6SubnetLimits: []rate.SubnetLimit{
				{PrefixLength: 56, Limit: rate.Limit{RPS: 10, Burst: burst}},
				{PrefixLength: 48, Limit: rate.Limit{RPS: 20, Burst: 4 * burst}},
			},
			GracePeriod: time.Minute,
		},
	}
	return l
}

// atLeast raises a limit to n unless it is higher (or unlimited) already.
func atLeast(v rcmgr.LimitVal, n int) rcmgr.LimitVal {
	if v == rcmgr.Unlimited || (v > 0 && int(v) >= n) {
		return v
	}
	return rcmgr.LimitVal(n)
}

func (l limits) resourceManager() (network.ResourceManager, error) {
	return rcmgr.NewResourceManager(rcmgr.NewFixedLimiter(l.scaled),
		rcmgr.WithLimitPerSubnet(l.connV4, l.connV6),
		rcmgr.WithConnRateLimiters(l.rate),
		rcmgr.WithMetricsDisabled(),
	)
}
