package proc_test

// Rotation end to end with real `convene run` processes (issue 10, cases
// a, b and c): after a facilitator removes Bea and rotates, Bea reads
// nothing new; a laptop joining with the old invite reads nothing new; Cy,
// offline during the rotation, comes back and carries on with no action.

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

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
	if _, err := a.api.CreateSession(ctx, apiv1.CreateSession{Title: "Before"}); err != nil {
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
		t.Cleanup(func() { p.Stop(10 * time.Second) })
		l.p, l.api = p, p.API
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
}
