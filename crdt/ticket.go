package crdt

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/convene/convene/internal/textform"
	"github.com/convene/convene/internal/varint"
)

// Ticket is what a hub is handed to serve one epoch of a gathering: the
// gathering id, the epoch and its admission key. With it a hub refuses
// non-members at the door (see Admit) and still reads nothing.
//
// Its text form is "convene-hub:" and the unpadded base64url encoding of
//
//	version (1) | gathering (32) | epoch (uvarint, minimal) | admission key (32) |
//	checksum (4: the first bytes of SHA-256 of everything before it)
//
// The checksum catches a ticket mangled in copying before a hub starts
// serving a gathering nobody writes to.
type Ticket struct {
	Gathering GatheringID
	Epoch     uint64
	Key       [32]byte
}

const (
	ticketPrefix   = "convene-hub:"
	ticketVersion  = 1
	ticketChecksum = 4
	// maxTicketText bounds the text read: the longest ticket has a
	// 10-byte epoch.
	maxTicketText = 128
)

// ErrBadTicket: the ticket text cannot be read.
var ErrBadTicket = errors.New("bad hub ticket")

// String is the text form.
func (t Ticket) String() string {
	b := append([]byte{ticketVersion}, t.Gathering[:]...)
	b = binary.AppendUvarint(b, t.Epoch)
	b = append(b, t.Key[:]...)
	b = append(b, ticketSum(b)...)
	return textform.Encode(ticketPrefix, b)
}

// ParseTicket reads a ticket's text form. Surrounding space is ignored;
// anything else that is not exactly a ticket is refused.
func ParseTicket(s string) (Ticket, error) {
	b, err := textform.Decode(s, ticketPrefix, maxTicketText)
	if err != nil {
		return Ticket{}, fmt.Errorf("%w: %w", ErrBadTicket, err)
	}
	if len(b) < 1+32+1+32+ticketChecksum {
		return Ticket{}, fmt.Errorf("%w: too short", ErrBadTicket)
	}
	if b[0] != ticketVersion {
		return Ticket{}, fmt.Errorf("%w: unknown version %d", ErrBadTicket, b[0])
	}
	body, sum := b[:len(b)-ticketChecksum], b[len(b)-ticketChecksum:]
	if !bytes.Equal(sum, ticketSum(body)) {
		return Ticket{}, fmt.Errorf("%w: checksum does not match (was it copied whole?)", ErrBadTicket)
	}
	var t Ticket
	copy(t.Gathering[:], body[1:33])
	epoch, w, err := varint.Uvarint(body[33:], math.MaxUint64)
	if err != nil {
		return Ticket{}, fmt.Errorf("%w: bad epoch", ErrBadTicket)
	}
	t.Epoch = epoch
	key := body[33+w:]
	if len(key) != len(t.Key) {
		return Ticket{}, fmt.Errorf("%w: admission key of %d bytes, want %d", ErrBadTicket, len(key), len(t.Key))
	}
	copy(t.Key[:], key)
	return t, nil
}

// ticketSum is the checksum of a ticket's bytes.
func ticketSum(b []byte) []byte {
	sum := sha256.Sum256(b)
	return sum[:ticketChecksum]
}
