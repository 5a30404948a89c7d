package proc_test

// Rotation end to end with real `convene run` processes (issue 10, cases
// a, b and c): after a facilitator removes Bea and rotates, Bea reads
// nothing new; a laptop joining with the old invite reads nothing new; Cy,
// offline during the rotation, comes back and carries on with no action.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/testnet/proc"
	"github.com/convene/convene/web/apiv1"
)

func sessionTitles(t *testing.T, c *apiv1.Client) []string {
	t.Helper()
	ss, err := c.Sessions(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, s := range ss {
		out = append(out, s.Title)
	}
	return out
}

func TestRotationEndToEnd(t *testing.T) {
	ctx := context.Background()
	ls := room(t, "Bea", "Cy")
	a, b, c := ls[0], ls[1], ls[2]
	before, err := a.api.CreateSession(ctx, apiv1.CreateSession{Title: "Before"})
	if err != nil {
		t.Fatal(err)
	}
	ga, err := a.api.CreateGroup(ctx, apiv1.CreateGroup{Name: "Table A"})
	if err != nil {
		t.Fatal(err)
	}
	pa, err := a.api.Propose(ctx, before.ID, apiv1.Propose{Group: ga.ID, Text: "Rain barrels"})
	if err != nil {
		t.Fatal(err)
	}
	converge(t, ls)
	st, err := a.api.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out, errOut, err := proc.Run(ctx, convene(t), "invite", "--data", a.dir)
	if err != nil {
		t.Fatalf("invite: %v: %s", err, errOut)
	}
	old := strings.TrimSpace(out)

	// Cy goes offline; the founder removes Bea and rotates.
	c.p.Stop(10 * time.Second)
	bea := signers(t, b.dir)["Bea"]
	if err := a.api.Remove(ctx, apiv1.Remove{Identity: bea.ID, Reason: "disrupts"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.api.Rotate(ctx, apiv1.Rotate{}); !forbidden(err) {
		t.Fatalf("a member rotates: %v", err)
	}
	rot, err := a.api.Rotate(ctx, apiv1.Rotate{})
	if err != nil || !strings.HasPrefix(rot.Invite, "convene:") {
		t.Fatalf("rotate: %+v, %v", rot, err)
	}
	if _, err := a.api.CreateSession(ctx, apiv1.CreateSession{Title: "After"}); err != nil {
		t.Fatal(err)
	}

	// (b) A laptop joins with the old invite after the rotation.
	late := &laptop{dir: t.TempDir()}
	if _, errOut, err := proc.Run(ctx, convene(t), "join", "--data", late.dir, "--identity", "Late", old); err != nil {
		t.Fatalf("join: %v: %s", err, errOut)
	}
	flags := []string{"--ui", "127.0.0.1:0", "--no-mdns", "--listen", "/ip4/127.0.0.1/tcp/0", "--sync-interval", "200ms", "--peer", st.Addrs[0]}
	start := func(l *laptop) {
		p, err := proc.Start(ctx, proc.Config{Bin: convene(t), Args: append([]string{"run", "--data", l.dir}, flags...), Data: l.dir})
		if err != nil {
			t.Fatal(err)
		}
		keep(t, l, p)
	}
	start(late)
	// (c) Cy comes back with no action and gets the new epoch.
	start(c)
	eventually(t, "Cy reads what was written after the rotation", func() (bool, string) {
		got := sessionTitles(t, c.api)
		return slices.Contains(got, "After"), strings.Join(got, ",")
	})
	if _, err := c.api.CreateSession(ctx, apiv1.CreateSession{Title: "Cy carries on"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the founder reads Cy after the rotation", func() (bool, string) {
		got := sessionTitles(t, a.api)
		return slices.Contains(got, "Cy carries on"), strings.Join(got, ",")
	})
	eventually(t, "the late laptop has the history before the rotation", func() (bool, string) {
		got := sessionTitles(t, late.api)
		return slices.Contains(got, "Before"), strings.Join(got, ",")
	})
	// By now the founder's node has offered Bea and the late laptop all it
	// holds (Cy's operation reached the founder after "After" was made).
	converge(t, []*laptop{a, c})
	for _, l := range []*laptop{b, late} {
		got := sessionTitles(t, l.api)
		if slices.Contains(got, "After") || slices.Contains(got, "Cy carries on") {
			t.Fatalf("%s reads the new epoch: %v", l.dir, got)
		}
	}

	// (b) continued: the late laptop's writes count nowhere. Its own node
	// knows the rotation left it out and refuses; a hand-built client
	// writes anyway under the old epoch, backdated to before the rotation
	// and before the session itself.
	if _, err := late.api.CreateGroup(ctx, apiv1.CreateGroup{Name: "Late table"}); !rotatedOut(err) {
		t.Fatalf("the late laptop's node wrote: %v", err)
	}
	// The founder's count before the late laptop's operations exist: read
	// after them, it may already hold some (gossip is quick), and the
	// wait below for all four more would never end.
	stA, err := a.api.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	lateID := signers(t, late.dir)["Late"]
	early := clockOf(t, a.api, pa.ID)
	early.Wall -= 60_000
	gl := sealed{lateID, early, &crdt.GroupBody{Name: "Late table"}}
	glID := handBuilt(t, late, gl)[0]
	early.Logical++
	now := crdt.Clock{Wall: time.Now().UnixMilli()}
	handBuilt(t, late,
		sealed{lateID, early, &crdt.ProposalBody{Session: before.ID, Group: glID, Text: "Late backdated"}},
		sealed{lateID, now, &crdt.EndorseBody{Proposal: pa.ID, Group: glID, Revision: pa.ID, Endorse: true}},
		sealed{lateID, now, &crdt.IdentityBody{Name: "Late again"}},
	)
	lateSt, err := late.api.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The founder holds them all (they are stored and relayed: sealed
	// under a key members hold, signed, admitted), yet nothing shows.
	eventually(t, "the founder and Cy hold the late laptop's operations", func() (bool, string) {
		var got []string
		for _, l := range []*laptop{a, c} {
			st, err := l.api.Status(ctx)
			if err != nil {
				return false, err.Error()
			}
			got = append(got, fmt.Sprint(st.Ops))
		}
		return got[0] == got[1] && stA.Ops+4 <= mustAtoi(got[0]), strings.Join(got, " ") + fmt.Sprintf(" (founder had %d, late holds %d)", stA.Ops, lateSt.Ops)
	})
	for _, l := range []*laptop{a, c} {
		if got := texts(t, l.api, before.ID); !slices.Equal(got, []string{"Rain barrels:1"}) {
			t.Errorf("%s's document: %q", l.dir, got)
		}
		gs, _ := l.api.Groups(ctx)
		for _, g := range gs {
			if g.Name == "Late table" {
				t.Errorf("%s shows the late laptop's group", l.dir)
			}
		}
		ms, _ := l.api.Members(ctx)
		for _, m := range ms {
			if m.ID == lateID.ID {
				t.Errorf("%s lists the late laptop as a member: %+v", l.dir, m)
			}
		}
	}
}

func rotatedOut(err error) bool {
	var ae *apiv1.Error
	return errors.As(err, &ae) && ae.Status == http.StatusForbidden && ae.Code == apiv1.CodeRotatedOut
}

func mustAtoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
