package main

import (
	"context"
	"fmt"
	"io"

	"github.com/convene/convene/node"
)

// Names a person gets when nobody is at a terminal to ask and no flag
// gives one. `convene run --name` renames the gathering later.
const (
	defaultGatheringName = "My gathering"
	defaultFounderName   = "organizer"
	defaultJoinerName    = "me"
)

func cmdInit(ctx context.Context, args []string, stdout io.Writer) error {
	fs, data := newFlags("init")
	name := fs.String("name", "", "the gathering's name")
	identity := fs.String("identity", "", "your name in the gathering (asked on a terminal; default \""+defaultFounderName+"\")")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	if *name == "" {
		return usagef("--name is required")
	}
	who, err := ask.name(ctx, *identity, "Your name in "+*name, defaultFounderName)
	if err != nil {
		return err
	}
	creds, err := node.Init(ctx, *data, *name, who)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created gathering %q in %s\n", *name, *data)
	fmt.Fprintln(stdout, node.Invite{Credentials: creds, Name: *name})
	fmt.Fprintf(notes, "note: this invite carries no addresses yet. Laptops on the same Wi-Fi find this one by mDNS; "+
		"where the venue blocks it, give them the invite that `convene invite --data %s` prints while `convene run` runs\n", *data)
	return nil
}

func cmdJoin(ctx context.Context, args []string, stdout io.Writer) error {
	fs, data := newFlags("join")
	identity := fs.String("identity", "", "your name in the gathering (asked on a terminal; default \""+defaultJoinerName+"\")")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("give exactly one INVITE")
	}
	inv, err := node.ParseInvite(fs.Arg(0))
	if err != nil {
		return usagef("%v", err)
	}
	who, err := ask.name(ctx, *identity, "Your name in "+inv.Name, defaultJoinerName)
	if err != nil {
		return err
	}
	if err := node.Join(ctx, *data, inv.Credentials, who); err != nil {
		return err
	}
	if err := node.SaveInvite(*data, inv); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "joined gathering %q as %q in %s; start it with: convene run --data %s\n", inv.Name, who, *data, *data)
	if len(inv.Addrs) == 0 {
		fmt.Fprintln(notes, "note: this invite carries no addresses: this laptop finds the others by mDNS only. "+
			"Where the venue blocks it (or with --no-mdns), ask for the invite that `convene invite` prints beside a running node, or use --peer")
	}
	return nil
}
