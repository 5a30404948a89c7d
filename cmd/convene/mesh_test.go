package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/convene/convene/web/apiv1"
)

// TestThreeNodesLoopback is the hotspot set-up of README, on loopback:
//
//	laptop A: convene init --data A --name NAME      (prints the invite)
//	          convene run --data A                   (prints listen: ADDR)
//	laptops B, C: convene join --data B INVITE
//	          convene run --data B --peer ADDR
//
// mDNS is off, so the nodes meet only through --peer. Each laptop writes;
// all three converge on the same digest and document.
func TestThreeNodesLoopback(t *testing.T) {
	t.Parallel()
	dirA, invite := initGathering(t, "Hotspot")
	dirB, dirC := t.TempDir(), t.TempDir()
	cliOK(t, "join", "--data", dirB, "--identity", "Bea", invite)
	cliOK(t, "join", "--data", dirC, "--identity", "Cy", invite)

	// A short anti-entropy period, so that the test sees periodic rounds
	// without waiting the default 30 s for one.
	loopback := []string{"--no-mdns", "--listen", "/ip4/127.0.0.1/tcp/0", "--sync-interval", "1s"}
	a := startNode(t, dirA, loopback...)
	addrs := a.status().Addrs
	if len(addrs) == 0 || !strings.Contains(addrs[0], "/p2p/") {
		t.Fatalf("A's status lists no dialable address: %v", addrs)
	}
	peer := append(slices.Clone(loopback), "--peer", addrs[0])
	b := startNode(t, dirB, peer...)
	c := startNode(t, dirC, peer...)
	nodes := []*running{a, b, c}

	// A opens a session and proposes; B and C form groups; B endorses A's
	// proposal once it sees it; C proposes.
	var ga, gb, gc, sess, pa struct{ ID string }
	a.call("POST", "/groups", map[string]any{"name": "Table A"}, 201, &ga)
	a.call("POST", "/sessions", map[string]any{"title": "Transit"}, 201, &sess)
	a.call("POST", "/sessions/"+sess.ID+"/proposals", map[string]any{"group": ga.ID, "text": "Free buses"}, 201, &pa)
	b.call("POST", "/groups", map[string]any{"name": "Table B"}, 201, &gb)
	c.call("POST", "/groups", map[string]any{"name": "Table C"}, 201, &gc)

	eventually(t, "B and C see A's session", func() (bool, string) {
		var state []string
		for _, n := range []*running{b, c} {
			code, body := n.do("GET", "/sessions/"+sess.ID+"/document", nil)
			if code != 200 {
				state = append(state, fmt.Sprintf("%d %s", code, body))
			}
		}
		return len(state) == 0, strings.Join(state, "; ")
	})
	eventually(t, "B sees A's proposal", func() (bool, string) {
		d := b.document(sess.ID)
		return len(d.Proposals) > 0, fmt.Sprintf("%d proposals", len(d.Proposals))
	})
	b.call("PUT", "/proposals/"+pa.ID+"/endorsements/"+gb.ID, nil, 204, nil)
	c.call("POST", "/sessions/"+sess.ID+"/proposals", map[string]any{"group": gc.ID, "text": "More bike lanes"}, 201, nil)

	// Converged: same digest, same document, with every write in it.
	eventually(t, "three nodes converge", func() (bool, string) {
		var digests []string
		for _, n := range nodes {
			digests = append(digests, n.status().Digest)
		}
		return digests[0] == digests[1] && digests[1] == digests[2], strings.Join(digests, " ")
	})
	doc := a.documentJSON(sess.ID)
	for i, n := range nodes[1:] {
		if d := n.documentJSON(sess.ID); d != doc {
			t.Errorf("node %d's document differs from A's:\n%s\n%s", i+1, d, doc)
		}
	}
	d := a.document(sess.ID)
	if len(d.Proposals) != 2 || d.Proposals[0].ID != pa.ID || d.Proposals[0].Endorsements != 2 || d.Proposals[1].Text != "More bike lanes" {
		t.Errorf("converged document: %+v", d.Proposals)
	}
	for i, n := range nodes {
		st := n.status()
		if len(st.Peers) == 0 {
			t.Errorf("node %d reports no peers", i)
		}
		for _, p := range st.Peers {
			if p.Via == "mdns" {
				t.Errorf("node %d found %s by mDNS with --no-mdns", i, p.PeerID)
			}
		}
	}
	// The joined laptops learned the gathering's name from A.
	if name := c.status().Gathering.Name; name != "Hotspot" {
		t.Errorf("C's gathering is named %q, want Hotspot", name)
	}

	// A late laptop joins from the invite the running node prints, which
	// carries A's addresses: no --peer needed, and it catches up.
	late := cliOK(t, "invite", "--data", dirA)
	late = strings.TrimSpace(late)
	if late == invite {
		t.Errorf("invite beside a running node carries no addresses")
	}
	dirD := t.TempDir()
	cliOK(t, "join", "--data", dirD, "--identity", "Dee", late)
	d2 := startNode(t, dirD, loopback...)
	nodes = append(nodes, d2)
	eventually(t, "the late laptop catches up", func() (bool, string) {
		da, dd := a.status().Digest, d2.status().Digest
		return da == dd, da + " " + dd
	})
	if st := d2.status(); len(st.Peers) == 0 || !slices.ContainsFunc(st.Peers, func(p apiv1.Peer) bool {
		return p.PeerID == a.status().PeerID && p.Via == "invite"
	}) {
		t.Errorf("the late laptop does not list A via invite: %+v", st.Peers)
	}

	// Outlive a periodic anti-entropy round: every connection is made by
	// now, so a sync later than this is a periodic one. The nodes keep
	// answering, and a later write still spreads.
	mark := time.Now()
	eventually(t, "every node syncs again", func() (bool, string) {
		var s []string
		ok := true
		for _, n := range nodes {
			last := n.status().Freshness.LastSync
			ok = ok && last != nil && last.After(mark)
			s = append(s, fmt.Sprint(last))
		}
		return ok, "last syncs: " + strings.Join(s, " ")
	})
	c.call("PUT", "/proposals/"+pa.ID+"/endorsements/"+gc.ID, nil, 204, nil)
	eventually(t, "a write after the anti-entropy round spreads", func() (bool, string) {
		var s []string
		ok := true
		for _, n := range nodes {
			d := n.document(sess.ID)
			ok = ok && len(d.Proposals) > 0 && d.Proposals[0].Endorsements == 3
			s = append(s, fmt.Sprint(d.Proposals[0].Endorsements))
		}
		return ok, "endorsements: " + strings.Join(s, " ")
	})
}
