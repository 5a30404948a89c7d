package mesh_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"google.golang.org/protobuf/proto"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/internal/testkit"
	"github.com/convene/convene/node/mesh"
	"github.com/convene/convene/node/recon"
)

// gossipsubProto is the GossipSub version the churner speaks by hand.
const gossipsubProto = "/meshsub/1.1.0"

// serveEmpty answers, on s, a reconciliation the mesh started, as a peer
// that holds nothing and asks for nothing: it ends the session properly.
// It runs in a stream handler, so it reports nothing to the test.
func serveEmpty(t *testing.T, s network.Stream) {
	var id crdt.GatheringID
	if _, err := io.ReadFull(s, id[:]); err != nil {
		s.Reset()
		return
	}
	w := newWire(t, s)
	rc := recon.NewReconciler(recon.NewIndex(), recon.Options{})
	sentEnd, peerDone := false, false
	for !sentEnd || !peerDone {
		typ, p, _, err := w.read()
		if err != nil {
			s.Reset()
			return
		}
		switch typ {
		case 'R':
			reply, _, _, done, err := rc.Reconcile(p)
			if err != nil {
				s.Reset()
				return
			}
			if reply != nil {
				if _, err := w.write('R', reply); err != nil {
					return
				}
			}
			if done && !sentEnd {
				if _, err := w.write('E', nil); err != nil {
					return
				}
				sentEnd = true
			}
		case 'Q':
			if _, err := w.write('A', nil); err != nil {
				return
			}
		case 'E':
			peerDone = true
		}
	}
	s.Close()
}

// churner is a peer that speaks GossipSub by hand on one stream, so that
// it can prune itself from a gathering's mesh and graft itself again at
// will (a GossipSub library peer grafts and prunes only as its heartbeat
// decides).
type churner struct {
	t     *testing.T
	h     host.Host
	s     network.Stream
	topic string
}

func (c *churner) rpc(r *pb.RPC) {
	c.t.Helper()
	b, err := proto.Marshal(r)
	if err != nil {
		c.t.Fatal(err)
	}
	if _, err := c.s.Write(append(binary.AppendUvarint(nil, uint64(len(b))), b...)); err != nil {
		c.t.Fatal(err)
	}
}

// newChurner connects a churner to ma: a real host with an id larger than
// ma's (the side with the smaller id reconciles on a graft or a join),
// which answers ma's reconciliations as a peer holding nothing and counts
// them.
func newChurner(t *testing.T, ma *mesh.Mesh, topic string) (*churner, *atomic.Int64) {
	t.Helper()
	key := newKey(t)
	for {
		id, err := peer.IDFromPrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Compare([]byte(ma.Host().ID()), []byte(id)) < 0 {
			break
		}
		key = newKey(t)
	}
	h := bareHost(t, libp2p.Identity(key))
	served := new(atomic.Int64)
	h.SetStreamHandler(reconProto, func(s network.Stream) {
		served.Add(1)
		serveEmpty(t, s)
	})
	// What the member's GossipSub sends the churner is read and dropped.
	h.SetStreamHandler(gossipsubProto, func(s network.Stream) { _, _ = io.Copy(io.Discard, s) })
	dialMesh(t, h, ma)
	s, err := h.NewStream(testContext(t), ma.Host().ID(), gossipsubProto)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Reset() })
	return &churner{t: t, h: h, s: s, topic: topic}, served
}

func (c *churner) subscribe(yes bool) {
	c.rpc(&pb.RPC{Subscriptions: []*pb.RPC_SubOpts{{Subscribe: &yes, Topicid: &c.topic}}})
}

func (c *churner) graft() {
	c.rpc(&pb.RPC{Control: &pb.ControlMessage{Graft: []*pb.ControlGraft{{TopicID: &c.topic}}}})
}

// prune leaves the mesh, asking for a backoff of a second, the least
// GossipSub's prune can say, before grafting again; it then waits twice
// that, so that the next graft is not refused.
func (c *churner) prune() {
	backoff := uint64(1)
	c.rpc(&pb.RPC{Control: &pb.ControlMessage{Prune: []*pb.ControlPrune{{TopicID: &c.topic, Backoff: &backoff}}}})
	time.Sleep(2 * time.Second)
}

// TestGraftChurnQuiet: a peer that prunes itself from a gathering's
// GossipSub mesh and grafts itself again, over and over, does not start a
// reconciliation at each graft: its first graft is reconciled, the next
// ones within graftQuiet of that (on the mesh's clock, held still here)
// are not, and a graft after it is again. The churner is a real libp2p
// host speaking GossipSub and the reconciliation protocol.
func TestGraftChurnQuiet(t *testing.T) {
	a, creds := newGathering(t)
	g := creds.Derive().Gathering
	clock := newFakeClock()
	ma := member(t, a, mesh.Config{Now: clock.Now})

	c, served := newChurner(t, ma, g.Topic())
	c.subscribe(true)
	c.graft()
	waitFor(t, "the first graft's reconciliation", func() bool { return ma.Stats().GraftSyncs == 1 })

	// Each prune and graft makes one graft at the member (its own
	// heartbeat may graft the churner back first; then the churner's graft
	// finds it in the mesh already).
	const churns = 4
	for range churns {
		c.prune()
		c.graft()
	}
	waitFor(t, "the member to take every graft", func() bool {
		st := ma.Stats()
		return st.GraftSyncs+st.GraftsQuiet >= 1+churns
	})
	if st := ma.Stats(); st.GraftSyncs != 1 {
		t.Errorf("%d grafts of a churning peer started %d reconciliations, want 1 (%d ignored)", 1+churns, st.GraftSyncs, st.GraftsQuiet)
	}

	// Past the quiet time, a graft is reconciled again.
	c.prune()
	clock.advance(mesh.GraftQuiet + time.Second)
	before := served.Load()
	c.graft()
	waitFor(t, "a graft's reconciliation after the quiet time", func() bool { return ma.Stats().GraftSyncs >= 2 })
	if n := ma.Stats().GraftSyncs; n != 2 {
		t.Errorf("%d grafts reconciled in all, want 2", n)
	}
	if served.Load() == before {
		t.Error("the reconciliation after the quiet time did not reach the churner")
	}
}

// TestJoinChurnQuiet: a peer that leaves a gathering's topic and joins it
// again, over and over, does not start a reconciliation at each join:
// within graftQuiet of its last join's reconciliation (on the mesh's
// clock, held still here), a join is counted and ignored; past it, a join
// is reconciled again.
func TestJoinChurnQuiet(t *testing.T) {
	a, creds := newGathering(t)
	clock := newFakeClock()
	ma := member(t, a, mesh.Config{Now: clock.Now})
	c, served := newChurner(t, ma, creds.Derive().Gathering.Topic())
	c.subscribe(true)
	waitFor(t, "the first join's reconciliation", func() bool { return served.Load() >= 1 })
	// The session at connecting and the one at joining may be one or two.
	base := steady(t, served)

	// GossipSub folds a leave and a join it has not reported yet into
	// nothing, so each leave is given time to be seen, and the pair is
	// sent again if the join went unseen.
	const churns = 4
	for i := range churns {
		testkit.Eventually(t, testTimeout, "a join to be seen", func() (bool, string) {
			c.subscribe(false)
			time.Sleep(50 * time.Millisecond)
			c.subscribe(true)
			deadline := time.Now().Add(2 * time.Second)
			for time.Now().Before(deadline) {
				if ma.Stats().JoinsQuiet > int64(i) {
					return true, ""
				}
				time.Sleep(10 * time.Millisecond)
			}
			return false, fmt.Sprintf("%d joins ignored", ma.Stats().JoinsQuiet)
		})
	}
	if n := ma.Stats().JoinsQuiet; n < churns {
		t.Errorf("%d joins within the quiet time ignored, want %d", n, churns)
	}
	if n := steady(t, served); n != base {
		t.Errorf("%d joins within the quiet time started %d reconciliations, want none", churns, n-base)
	}

	// Past the quiet time, a join is reconciled again.
	clock.advance(mesh.GraftQuiet + time.Second)
	before, quiet := served.Load(), ma.Stats().JoinsQuiet
	c.subscribe(false)
	time.Sleep(50 * time.Millisecond)
	c.subscribe(true)
	waitFor(t, "a join's reconciliation after the quiet time", func() bool { return served.Load() > before })
	if n := ma.Stats().JoinsQuiet; n != quiet {
		t.Errorf("a join after the quiet time was ignored (%d ignored in all)", n)
	}
}

// steady waits until n has not changed for a while and returns it: the
// sessions a member started have all reached the churner.
func steady(t *testing.T, n *atomic.Int64) int64 {
	t.Helper()
	last, since := n.Load(), time.Now()
	for time.Since(since) < 300*time.Millisecond {
		time.Sleep(20 * time.Millisecond)
		if v := n.Load(); v != last {
			last, since = v, time.Now()
		}
	}
	return last
}
