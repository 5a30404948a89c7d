package node

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/internal/textform"
	"github.com/convene/convene/internal/varint"
	ma "github.com/multiformats/go-multiaddr"
)

// An invite is what a newcomer needs to join: the gathering's credentials
// (secret and founder), its name for display, addresses of peers that
// can be dialled, and after a rotation the secrets of the later epochs. Its
// text form is "convene:" and the base64url encoding of
//
//	version (1 or 2) | secret (32) | founder (32) | uvarint len, name |
//	uvarint count, then per address: uvarint len, multiaddr bytes |
//	version 2 only: uvarint count, then per epoch: uvarint epoch,
//	secret (32), rotation operation id (32)
//
// An invite of a gathering never rotated is written as version 1, which
// every convene reads; version 2 is written only when there are epochs.
const (
	invitePrefix    = "convene:"
	inviteVersion   = 1
	inviteVersion2  = 2
	maxInviteEpochs = 256
	maxInviteAddrs  = 16
	maxInviteAddr   = 256
	maxInviteLength = 8 << 10
)

// ErrBadInvite: the invite text cannot be read.
var ErrBadInvite = errors.New("bad invite")

// Invite is a decoded invite.
type Invite struct {
	Credentials crdt.Credentials
	Name        string
	Addrs       []ma.Multiaddr
	Epochs      []EpochSecret // epochs after 0, from rotations
}

// String encodes the invite.
func (inv Invite) String() string {
	b := []byte{inviteVersion}
	if len(inv.Epochs) > 0 {
		b[0] = inviteVersion2
	}
	b = append(b, inv.Credentials.Secret[:]...)
	b = append(b, inv.Credentials.Founder[:]...)
	name := inv.Name
	if len(name) > crdt.MaxName {
		name = name[:crdt.MaxName]
	}
	b = binary.AppendUvarint(b, uint64(len(name)))
	b = append(b, name...)
	addrs := inv.Addrs
	if len(addrs) > maxInviteAddrs {
		addrs = addrs[:maxInviteAddrs]
	}
	b = binary.AppendUvarint(b, uint64(len(addrs)))
	for _, a := range addrs {
		ab := a.Bytes()
		b = binary.AppendUvarint(b, uint64(len(ab)))
		b = append(b, ab...)
	}
	if len(inv.Epochs) > 0 {
		eps := inv.Epochs[:min(len(inv.Epochs), maxInviteEpochs)]
		b = binary.AppendUvarint(b, uint64(len(eps)))
		for _, e := range eps {
			b = binary.AppendUvarint(b, e.Epoch)
			b = append(b, e.Secret[:]...)
			b = append(b, e.Rotation[:]...)
		}
	}
	return textform.Encode(invitePrefix, b)
}

// ParseInvite reads an invite's text form.
func ParseInvite(s string) (Invite, error) {
	b, err := textform.Decode(s, invitePrefix, maxInviteLength)
	if err != nil {
		return Invite{}, fmt.Errorf("%w: %w", ErrBadInvite, err)
	}
	r := inviteReader{b: b}
	var inv Invite
	v := r.bytes(1)
	if v == nil || (v[0] != inviteVersion && v[0] != inviteVersion2) {
		return Invite{}, fmt.Errorf("%w: unknown version", ErrBadInvite)
	}
	copy(inv.Credentials.Secret[:], r.bytes(32))
	copy(inv.Credentials.Founder[:], r.bytes(32))
	name := r.bytes(r.uvarint(crdt.MaxName))
	inv.Name = string(name)
	n := r.uvarint(maxInviteAddrs)
	for i := uint64(0); i < n && r.err == nil; i++ {
		ab := r.bytes(r.uvarint(maxInviteAddr))
		if r.err != nil {
			break
		}
		a, err := ma.NewMultiaddrBytes(ab)
		if err != nil {
			return Invite{}, fmt.Errorf("%w: address %d: %w", ErrBadInvite, i, err)
		}
		inv.Addrs = append(inv.Addrs, a)
	}
	if v[0] == inviteVersion2 {
		n := r.uvarint(maxInviteEpochs)
		if n == 0 && r.err == nil {
			return Invite{}, fmt.Errorf("%w: version 2 with no epochs", ErrBadInvite)
		}
		for i := uint64(0); i < n && r.err == nil; i++ {
			var e EpochSecret
			e.Epoch = r.uvarint(1 << 62)
			copy(e.Secret[:], r.bytes(32))
			copy(e.Rotation[:], r.bytes(32))
			if r.err == nil && e.Epoch == 0 {
				return Invite{}, fmt.Errorf("%w: epoch 0 is the invite's own secret", ErrBadInvite)
			}
			inv.Epochs = append(inv.Epochs, e)
		}
	}
	if r.err != nil {
		return Invite{}, fmt.Errorf("%w: %w", ErrBadInvite, r.err)
	}
	if len(r.b) != 0 {
		return Invite{}, fmt.Errorf("%w: trailing bytes", ErrBadInvite)
	}
	if !utf8.Valid(name) {
		return Invite{}, fmt.Errorf("%w: name is not UTF-8", ErrBadInvite)
	}
	return inv, nil
}

type inviteReader struct {
	b   []byte
	err error
}

func (r *inviteReader) bytes(n uint64) []byte {
	if r.err != nil {
		return nil
	}
	if uint64(len(r.b)) < n {
		r.err = errors.New("truncated")
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *inviteReader) uvarint(max uint64) uint64 {
	if r.err != nil {
		return 0
	}
	v, n, err := varint.Uvarint(r.b, max)
	if err != nil {
		r.err = fmt.Errorf("length: %w", err)
		return 0
	}
	r.b = r.b[n:]
	return v
}
