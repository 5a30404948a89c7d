package mesh_test

import (
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"

	"github.com/convene/convene/internal/testkit"
	"github.com/convene/convene/node/mesh"
)

// A reconciliation asked for while one with the same peer is running is
// not dropped, and a session the peer cut is tried again soon: a write
// made during a session that then fails reaches the peer within seconds,
// not at the next periodic round (an hour here). This is how a city's
// first writes waited 30 s in the lab: the session on connect was running
// (or refused) when the write and the topic join asked for another.
func TestSyncAskedWhileRunningRunsAfter(t *testing.T) {
	na, creds := newGathering(t)
	nb := joinNode(t, creds, "bob")
	g := creds.Derive().Gathering
	b := replica(t, nb, mesh.Config{SyncInterval: time.Hour})
	a := replica(t, na, mesh.Config{Peers: addrs(t, b), SyncInterval: time.Hour})
	waitFor(t, "a and b synced", func() bool {
		n, _ := a.Freshness(g)
		return n == 1
	})
	na.SetPublisher(nil) // a's writes reach b only by reconciliation

	// b holds the next session a opens until released, then cuts it.
	held, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	handle := mesh.HandleRecon(b)
	b.Host().SetStreamHandler(mesh.ReconProto, func(s network.Stream) {
		first := false
		once.Do(func() { first = true })
		if !first {
			handle(s)
			return
		}
		close(held)
		<-release
		s.Reset()
	})
	ctx := testContext(t)
	go a.SyncNow(ctx, g)
	<-held
	act(t, na, "written during a session", 2)
	a.SyncNow(ctx, g) // the session running: must not be lost
	close(release)
	testkit.Eventually(t, 10*time.Second, "b has a's writes", func() (bool, string) {
		return na.Log().Digest() == nb.Log().Digest(), ""
	})
}
