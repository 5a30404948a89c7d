package mesh

import (
	"context"
	"errors"
	"fmt"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/convene/convene/crdt"
)

const (
	// subBuffer is the subscription's buffer. GossipSub drops messages for a
	// subscriber whose buffer is full (32 by default), silently;
	// reconciliation heals that, but it should be rare.
	subBuffer        = 4096
	validatorTimeout = 10 * time.Second
	// validatorConcurrency bounds validations in flight per topic; each
	// verifies up to a batch of signatures.
	validatorConcurrency = 1024
	// freshWindow is how recent a reconciliation must be for the peer to
	// count in Freshness.
	freshWindow = 5 * time.Minute
)

// gathering is one joined gathering: its replica, topic and sync record.
type gathering struct {
	id    crdt.GatheringID
	r     Replica
	topic *pubsub.Topic
	sub   *pubsub.Subscription
	out   chan []byte // operations waiting to be published

	claims *claims // what this node's sessions are pulling
	// arrivals tracks a catch-up, for History (priority.go).
	arrivals *arrivals
	gate     *gate // which sessions are learning or pulling (gate.go)
	// initiating holds a token per session this side initiated and runs.
	initiating chan struct{}

	// guarded by Mesh.mu
	lastSync time.Time
	synced   map[peer.ID]time.Time
	running  map[peer.ID]bool // reconciliations this side initiated
	again    map[peer.ID]bool // asked for while running: run once more after (converge.go)
	failed   map[peer.ID]int  // initiated sessions that failed in a row (converge.go)
	syncSoon bool             // a reconciliation after a lone write is scheduled
	inbound  map[peer.ID]bool // reconciliations the peer initiated
	// grafted and joined: when the reconciliation a graft of the peer, or
	// its topic join, started ended (converge.go).
	grafted, joined quiet
}

// Join subscribes to r's gathering, validates its gossip with r, and
// reconciles it with every peer now and from then on. A hub joins several.
func (m *Mesh) Join(ctx context.Context, r Replica) error {
	id := r.Gathering()
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return ErrClosed
	}
	if _, ok := m.gatherings[id]; ok {
		m.mu.Unlock()
		return fmt.Errorf("mesh: gathering %s already joined", id)
	}
	// Hold the lock across setup so two Joins of one id cannot race.
	defer m.mu.Unlock()
	g := &gathering{
		id: id, r: r,
		out:        make(chan []byte, 4096),
		claims:     newClaims(),
		arrivals:   newArrivals(),
		gate:       newGate(&m.stats.gateTimeouts),
		initiating: make(chan struct{}, initiatedPerGathering),
		synced:     make(map[peer.ID]time.Time),
		running:    make(map[peer.ID]bool),
		again:      make(map[peer.ID]bool),
		failed:     make(map[peer.ID]int),
		inbound:    make(map[peer.ID]bool),
		grafted:    make(quiet),
		joined:     make(quiet),
	}
	name := id.Topic()
	if err := m.ps.RegisterTopicValidator(name, m.validator(g),
		pubsub.WithValidatorTimeout(validatorTimeout),
		pubsub.WithValidatorConcurrency(validatorConcurrency),
	); err != nil {
		return fmt.Errorf("mesh: validator for %s: %w", id, err)
	}
	topic, err := m.ps.Join(name)
	if err != nil {
		m.ps.UnregisterTopicValidator(name)
		return fmt.Errorf("mesh: join %s: %w", id, err)
	}
	if err := topic.SetScoreParams(topicScoreParams()); err != nil {
		topic.Close()
		m.ps.UnregisterTopicValidator(name)
		return fmt.Errorf("mesh: score parameters of %s: %w", id, err)
	}
	sub, err := topic.Subscribe(pubsub.WithBufferSize(subBuffer))
	if err != nil {
		topic.Close()
		m.ps.UnregisterTopicValidator(name)
		return fmt.Errorf("mesh: subscribe %s: %w", id, err)
	}
	events, err := topic.EventHandler()
	if err != nil {
		sub.Cancel()
		topic.Close()
		m.ps.UnregisterTopicValidator(name)
		return fmt.Errorf("mesh: topic events of %s: %w", id, err)
	}
	g.topic, g.sub = topic, sub
	m.gatherings[id] = g
	m.wg.Go(func() { m.followTopic(g, events) })
	m.wg.Go(func() { m.deliver(g) })
	m.wg.Go(func() { m.publishLoop(g) })
	m.wg.Go(func() { m.SyncNow(m.ctx, id) })
	return nil
}

// Publish gossips one encoded operation of a joined gathering. Operations
// queued while the previous message goes out share the next. Publish only
// queues: delivery is best effort, and reconciliation repairs what is lost.
func (m *Mesh) Publish(ctx context.Context, id crdt.GatheringID, raw []byte) error {
	if len(raw) == 0 || len(raw) > crdt.MaxEnvelopeSize {
		return fmt.Errorf("mesh: publish: %w: %d bytes", crdt.ErrTooLarge, len(raw))
	}
	g, err := m.gathering(id)
	if err != nil {
		return err
	}
	select {
	case g.out <- raw:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-m.ctx.Done():
		return ErrClosed
	}
}

func (m *Mesh) gathering(id crdt.GatheringID) (*gathering, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	g, ok := m.gatherings[id]
	if !ok {
		return nil, fmt.Errorf("mesh: %w: %s", ErrNotJoined, id)
	}
	return g, nil
}

func (m *Mesh) publishLoop(g *gathering) {
	for {
		var raws [][]byte
		select {
		case <-m.ctx.Done():
			return
		case raw := <-g.out:
			raws = append(raws, raw)
		}
		// A burst shares messages without a timer: what was queued while
		// the previous message went out goes out together now. Waiting for
		// more would delay every lone change, the usual live case, by the
		// wait (docs/DECISIONS.md, "Publish at once").
		size := len(raws[0])
	collect:
		for size < packBytes {
			select {
			case raw := <-g.out:
				raws = append(raws, raw)
				size += len(raw)
			default:
				break collect
			}
		}
		for _, msg := range m.codec.pack(raws) {
			// Local messages skip the validator's checks: the node made or
			// accepted these operations itself.
			if err := g.topic.Publish(m.ctx, msg, pubsub.WithValidatorData(localBatch{})); err != nil && !errors.Is(err, context.Canceled) {
				m.log.Warn("publish failed", "gathering", g.id, "err", err)
			}
		}
		m.publishedAlone(g)
	}
}

// localBatch marks a message this node published.
type localBatch struct{}

// validator takes in a gossip message before GossipSub accepts or
// forwards it: a strict decode, then the replica's Take, all or nothing
// (see take). A message with any operation that shows the sender
// misbehaving is rejected whole and nothing of it is stored; one with
// nothing new is ignored. What is accepted is already stored and applied,
// so GossipSub forwards only what this node holds.
func (m *Mesh) validator(g *gathering) pubsub.ValidatorEx {
	return func(ctx context.Context, from peer.ID, msg *pubsub.Message) pubsub.ValidationResult {
		if _, ok := msg.ValidatorData.(localBatch); ok && from == m.h.ID() {
			return pubsub.ValidationAccept
		}
		raws, err := m.codec.decode(msg.Data)
		if err != nil {
			m.stats.rejected.Add(1)
			m.penalize(from, 1, err)
			return pubsub.ValidationReject
		}
		res, err := m.take(ctx, g, from, raws, AllOrNothing)
		switch {
		case res.Bad > 0:
			return pubsub.ValidationReject
		case err != nil:
			if m.ctx.Err() == nil {
				m.log.Error("storing gossip failed", "gathering", g.id, "err", err)
			}
			return pubsub.ValidationIgnore
		case res.Added == 0:
			return pubsub.ValidationIgnore // duplicates, or nothing this node can take yet
		}
		m.noteAuthors(msg.GetFrom(), res.Fresh)
		return pubsub.ValidationAccept
	}
}

// deliver drains the subscription: the validator has already stored what
// it accepted.
func (m *Mesh) deliver(g *gathering) {
	for {
		if _, err := g.sub.Next(m.ctx); err != nil {
			return
		}
	}
}

// Freshness reports how many peers this node reconciled gathering id with
// in the last few minutes and is still connected to, and when it last
// reconciled. A peer whose connection died (see liveness) no longer counts.
func (m *Mesh) Freshness(id crdt.GatheringID) (peers int, lastSync time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	g, ok := m.gatherings[id]
	if !ok {
		return 0, time.Time{}
	}
	cut := m.now().Add(-freshWindow)
	for p, t := range g.synced {
		if _, live := m.peers[p]; live && t.After(cut) {
			peers++
		}
	}
	return peers, g.lastSync
}

// Peer scoring, with parameters for a venue (see docs/DECISIONS.md, "Peer
// scoring at a venue"). The score's only strong negative terms are the
// ones only an outsider or a broken peer earns: messages this node's
// validator rejected, and the application score, which is minus the
// peer's strikes (see penalize). Terms that would punish honest laptops
// are off: IP colocation (a venue's laptops reach a hub from one NAT
// address) and mesh delivery deficits (a room is quiet for minutes).
func (m *Mesh) scoreParams() *pubsub.PeerScoreParams {
	return &pubsub.PeerScoreParams{
		AppSpecificScore:  func(p peer.ID) float64 { return -float64(m.bans.strikes(p)) },
		AppSpecificWeight: 10,
		// Behaviour penalties (GRAFT during backoff, broken promises):
		// a peer must misbehave repeatedly before it counts.
		BehaviourPenaltyWeight:    -1,
		BehaviourPenaltyThreshold: 6,
		BehaviourPenaltyDecay:     pubsub.ScoreParameterDecay(10 * time.Minute),
		DecayInterval:             time.Second,
		DecayToZero:               0.01,
		RetainScore:               30 * time.Minute,
		Topics:                    map[string]*pubsub.TopicScoreParams{},
	}
}

// topicScoreParams scores one gathering's topic: a little credit for time
// in the mesh and for first deliveries, a heavy charge for invalid
// messages (each costs 100 × 100 = 10,000, squared counts: one such
// message puts a peer below the graylist threshold).
func topicScoreParams() *pubsub.TopicScoreParams {
	return &pubsub.TopicScoreParams{
		TopicWeight:                    1,
		TimeInMeshWeight:               0.01,
		TimeInMeshQuantum:              time.Second,
		TimeInMeshCap:                  3600,
		FirstMessageDeliveriesWeight:   1,
		FirstMessageDeliveriesDecay:    pubsub.ScoreParameterDecay(10 * time.Minute),
		FirstMessageDeliveriesCap:      100,
		InvalidMessageDeliveriesWeight: -100,
		InvalidMessageDeliveriesDecay:  pubsub.ScoreParameterDecay(time.Hour),
	}
}

// scoreThresholds: below -100 a peer gets no gossip, below -500 nothing
// this node publishes, below -1000 its messages are dropped unread.
var scoreThresholds = &pubsub.PeerScoreThresholds{
	GossipThreshold:             -100,
	PublishThreshold:            -500,
	GraylistThreshold:           -1000,
	AcceptPXThreshold:           100,
	OpportunisticGraftThreshold: 5,
}
