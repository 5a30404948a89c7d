package main

import (
	"context"
	"fmt"
	"io"

	"github.com/convene/convene/node"
)

func cmdInit(ctx context.Context, args []string, stdout io.Writer) error {
	fs, data := newFlags("init")
	name := fs.String("name", "", "the gathering's name")
	identity := fs.String("identity", "organizer", "name of your first identity")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	if *name == "" {
		return usagef("--name is required")
	}
	creds, err := node.Init(ctx, *data, *name, *identity)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created gathering %q in %s\n", *name, *data)
	fmt.Fprintln(stdout, node.Invite{Credentials: creds, Name: *name})
	return nil
}

func cmdJoin(ctx context.Context, args []string, stdout io.Writer) error {
	fs, data := newFlags("join")
	identity := fs.String("identity", "me", "name of your first identity")
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
	if err := node.Join(ctx, *data, inv.Credentials, *identity); err != nil {
		return err
	}
	if err := node.SaveInvite(*data, inv); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "joined gathering %q in %s; start it with: convene run --data %s\n", inv.Name, *data, *data)
	return nil
}
