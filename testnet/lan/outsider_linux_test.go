package lan

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/internal/testkit"
	"github.com/convene/convene/node/store"
)

// outsiderEnv, when set ("HUBADDR GATHERINGID"), makes this test binary
// the outsider of TestLANHubBar instead of running tests: TestMain hands
// it to runOutsider inside the outsider's namespace.
const outsiderEnv = "CONVENE_LAN_OUTSIDER"

// outsiderOps is how many operations of its own the outsider offers.
const outsiderOps = 200

// runOutsider is a laptop on the venue's bridge that knows the gathering's
// id (GossipSub announces it) but not its secret: a plain GossipSub host
// that joins the topic at the hub and gossips operations sealed and tagged
// with keys of its own. It prints what it did and returns an exit code.
func runOutsider(spec string) int {
	hubAddr, gid, ok := strings.Cut(spec, " ")
	g, err := crdt.ParseGatheringID(gid)
	if !ok || err != nil {
		fmt.Fprintln(os.Stderr, "outsider: bad spec:", spec)
		return 2
	}
	hub, err := peer.AddrInfoFromString(hubAddr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "outsider:", err)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/0.0.0.0/tcp/0"), libp2p.DisableMetrics())
	if err != nil {
		fmt.Fprintln(os.Stderr, "outsider:", err)
		return 1
	}
	defer h.Close()
	ps, err := pubsub.NewGossipSub(ctx, h, pubsub.WithFloodPublish(true))
	if err != nil {
		fmt.Fprintln(os.Stderr, "outsider:", err)
		return 1
	}
	topic, err := ps.Join(g.Topic())
	if err != nil {
		fmt.Fprintln(os.Stderr, "outsider:", err)
		return 1
	}
	if _, err := topic.Subscribe(); err != nil {
		fmt.Fprintln(os.Stderr, "outsider:", err)
		return 1
	}
	if err := h.Connect(ctx, *hub); err != nil {
		fmt.Fprintln(os.Stderr, "outsider: cannot reach the hub:", err)
		return 1
	}
	for !onTopic(topic, hub.ID) {
		if ctx.Err() != nil {
			fmt.Fprintln(os.Stderr, "outsider: the hub never showed on the topic")
			return 1
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Keys of its own for the gathering's id: well-formed envelopes whose
	// admission tags the hub cannot accept.
	var secret [32]byte
	rand.Read(secret[:])
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	signer, _ := crdt.NewSigner(key)
	keys := crdt.DeriveEpoch(g, signer.ID, 0, secret)
	var junk [][]byte
	for i := range outsiderOps {
		e, _, err := keys.Seal(signer, crdt.Clock{Wall: time.Now().UnixMilli(), Logical: uint32(i)}, &crdt.GroupBody{Name: fmt.Sprint("junk ", i)})
		if err != nil {
			fmt.Fprintln(os.Stderr, "outsider:", err)
			return 1
		}
		junk = append(junk, e.Bytes())
	}
	published := 0
	for lo := 0; lo < len(junk); lo += 20 {
		if err := topic.Publish(ctx, testkit.Batch(junk[lo:min(lo+20, len(junk))]...)); err == nil {
			published += min(20, len(junk)-lo)
		}
	}
	// The hub should drop it; give it the time.
	for ctx.Err() == nil && h.Network().Connectedness(hub.ID) == 1 {
		time.Sleep(100 * time.Millisecond)
	}
	fmt.Printf("outsider: offered %d operations; still connected to the hub: %v\n", published, h.Network().Connectedness(hub.ID) == 1)
	return 0
}

func onTopic(t *pubsub.Topic, p peer.ID) bool {
	for _, q := range t.ListPeers() {
		if q == p {
			return true
		}
	}
	return false
}

// outsiderVisits runs the outsider in host h against the hub and returns
// what it printed.
func outsiderVisits(t *testing.T, h *host, hubAddr, gathering string) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), "ip", "netns", "exec", h.ns, self)
	cmd.Env = append(os.Environ(), outsiderEnv+"="+hubAddr+" "+gathering)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the outsider: %v\n%s", err, out)
	}
	return strings.TrimSpace(string(out))
}

// hubOps counts what a stopped hub's store holds of gathering g.
func hubOps(t *testing.T, dir string, g crdt.GatheringID) int {
	t.Helper()
	st, err := store.Open(filepath.Join(dir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	l, err := st.Log(t.Context(), g)
	if err != nil {
		t.Fatal(err)
	}
	return l.Len()
}
