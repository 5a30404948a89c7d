package main

import (
	"context"
	"fmt"
	"io"

	"github.com/convene/convene/node"
	"github.com/mdp/qrterminal/v3"
	ma "github.com/multiformats/go-multiaddr"
)

func cmdInvite(ctx context.Context, args []string, stdout io.Writer) error {
	fs, data := newFlags("invite")
	qr := fs.Bool("qr", false, "also print the invite as a QR code")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	creds, name, err := node.LoadGathering(*data)
	if err != nil {
		return err
	}
	inv := node.Invite{Credentials: creds, Name: name}
	// The running node knows its current addresses; without one, the
	// invite carries the credentials only and peers meet by mDNS or --peer.
	if c, err := runningNode(ctx, *data); err == nil {
		sctx, cancel := context.WithTimeout(ctx, jsonRequestTimeout)
		st, err := c.Status(sctx)
		cancel()
		if err == nil {
			for _, s := range st.Addrs {
				if a, err := ma.NewMultiaddr(s); err == nil {
					inv.Addrs = append(inv.Addrs, a)
				}
			}
		}
	}
	text := inv.String()
	fmt.Fprintln(stdout, text)
	if *qr {
		qrterminal.GenerateWithConfig(text, qrterminal.Config{
			Level: qrterminal.L, Writer: stdout, HalfBlocks: true,
			BlackChar: qrterminal.BLACK_BLACK, WhiteChar: qrterminal.WHITE_WHITE,
			BlackWhiteChar: qrterminal.BLACK_WHITE, WhiteBlackChar: qrterminal.WHITE_BLACK,
			QuietZone: 1,
		})
	}
	return nil
}
