package main

import (
	"strings"
	"testing"

	"github.com/convene/convene/node"
)

// TestInviteRotate: with no node running, invite --rotate opens the
// directory, rotates and prints the new invite; a member cannot rotate.
func TestInviteRotate(t *testing.T) {
	t.Parallel()
	dirA, invite := initGathering(t, "Rotating")
	dirB := t.TempDir()
	cliOK(t, "join", "--data", dirB, "--identity", "Bob", invite)
	if r := cli(t, "invite", "--data", dirB, "--rotate"); r.code != 1 || !strings.Contains(r.stderr, "facilitator") {
		t.Errorf("a member rotates: exit %d, stderr %q", r.code, r.stderr)
	}
	out := strings.TrimSpace(cliOK(t, "invite", "--data", dirA, "--rotate"))
	if out == invite {
		t.Fatal("the invite did not change")
	}
	inv, err := node.ParseInvite(out)
	if err != nil || len(inv.Epochs) != 1 || inv.Epochs[0].Epoch != 1 {
		t.Fatalf("rotated invite: %+v, %v", inv.Epochs, err)
	}
	if again := strings.TrimSpace(cliOK(t, "invite", "--data", dirA)); again != out {
		t.Errorf("invite after the rotation prints %q, want %q", again, out)
	}
}
