package main

import (
	"context"
	"fmt"
	"io"

	"github.com/convene/convene/node"
	"github.com/convene/convene/web/apiv1"
	"github.com/mdp/qrterminal/v3"
	"rsc.io/qr"
)

// qrColumns is the widest QR code invite --qr prints: a classic terminal.
const qrColumns = 80

func cmdInvite(ctx context.Context, args []string, stdout io.Writer) error {
	fs, data := newFlags("invite")
	showQR := fs.Bool("qr", false, "also print the invite as a QR code")
	rotate := fs.Bool("rotate", false, "retire the current invite: a facilitator gives the remaining members a new secret and prints the new invite")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	if *rotate {
		if err := rotateInvite(ctx, *data); err != nil {
			return err
		}
	}
	creds, name, err := node.LoadGathering(*data)
	if err != nil {
		return err
	}
	epochs, err := node.LoadEpochs(*data, creds)
	if err != nil {
		return err
	}
	inv := node.Invite{Credentials: creds, Name: name, Epochs: epochs}
	// The running node knows its current addresses; with or without one,
	// the addresses of the peers it synced with (remembered) lead to the
	// room too. With neither, the invite carries the credentials only and
	// peers meet by mDNS or --peer.
	var own []string
	if c, err := runningNode(ctx, *data); err == nil {
		sctx, cancel := context.WithTimeout(ctx, jsonRequestTimeout)
		st, err := c.Status(sctx)
		cancel()
		if err == nil {
			own = st.Addrs
		}
	}
	learned, err := node.LoadRemembered(*data)
	if err != nil {
		fmt.Fprintf(notes, "note: %v; the invite carries this node's own addresses only\n", err)
	}
	inv.Addrs = node.InviteAddrs(own, learned)
	text := inv.String()
	fmt.Fprintln(stdout, text)
	if len(inv.Addrs) == 0 {
		fmt.Fprintf(notes, "note: no convene run is running on %s, so this invite carries no addresses: laptops that cannot find this one by mDNS need --peer, or the invite printed while convene run runs\n", *data)
	}
	if *showQR {
		code, left := fitQR(inv, qrColumns)
		if left > 0 {
			fmt.Fprintf(notes, "note: the QR code leaves out %d of the %d addresses to fit %d columns; the text above has them all\n", left, len(inv.Addrs), qrColumns)
		}
		qrterminal.GenerateWithConfig(code, qrterminal.Config{
			Level: qrterminal.L, Writer: stdout, HalfBlocks: true,
			BlackChar: qrterminal.BLACK_BLACK, WhiteChar: qrterminal.WHITE_WHITE,
			BlackWhiteChar: qrterminal.BLACK_WHITE, WhiteBlackChar: qrterminal.WHITE_BLACK,
			QuietZone: qrQuietZone,
		})
	}
	return nil
}

// rotateInvite starts the next epoch through the running node, or by
// opening the node directory when none runs (the rotation then leaves with
// the next convene run).
func rotateInvite(ctx context.Context, dir string) error {
	if c, err := runningNode(ctx, dir); err == nil {
		if _, err := c.Rotate(ctx, apiv1.Rotate{}); err != nil {
			return fmt.Errorf("rotate: %w", err)
		}
	} else {
		n, err := node.Open(ctx, node.Config{Dir: dir})
		if err != nil {
			return err
		}
		_, rerr := n.Rotate(ctx, nil)
		if err := n.Close(); rerr == nil && err != nil {
			rerr = err
		}
		if rerr != nil {
			return rerr
		}
	}
	fmt.Fprintln(notes, "rotated: the members get the new secret by the normal sync, laptops offline now included when they come back; the old invite reads nothing new")
	return nil
}

// qrQuietZone is the margin of the printed QR code, in modules. The
// standard asks for 4; phone cameras read 1 on a terminal's dark
// background, and every module saved keeps a larger invite in 80 columns.
const qrQuietZone = 1

// fitQR returns the invite text for the QR code: inv with as many of its
// addresses as keep the code within columns (half blocks: one column per
// module), and how many it left out. Addresses come in the node's order of
// preference, so the last ones go first.
func fitQR(inv node.Invite, columns int) (string, int) {
	all := len(inv.Addrs)
	for n := all; ; n-- {
		inv.Addrs = inv.Addrs[:n]
		text := inv.String()
		code, err := qr.Encode(text, qr.L)
		if n == 0 || (err == nil && code.Size+2*qrQuietZone <= columns) {
			return text, all - n
		}
	}
}
