package crdt

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
)

// Errors of admission, beside those of errors.go.
var (
	// ErrAdmission: the admission tag is wrong, so the operation was not
	// made with the gathering's keys; only an outsider sends one.
	ErrAdmission = errors.New("operation not admitted")
	// ErrEpoch: the operation is of an epoch whose keys this node does not
	// hold (yet); not an error of the peer.
	ErrEpoch = errors.New("operation of an unknown epoch")
)

// Admission at the door. Every envelope carries a tag made with its epoch's
// admission key, which members derive from the secret and hubs are handed in
// a Ticket. Knowing a gathering id (GossipSub announces it) is therefore not
// enough to make a hub store anything, or a member check a signature: the tag
// is one HMAC, checked before the signature everywhere.
//
// The admission key does not open payloads, and it does not make anyone a
// member: whoever holds it (a hub) can tag junk of its own, which members
// then refuse when it does not open. It only keeps out those who hold
// nothing.

// Admitter is what admission checks an envelope against: a gathering and the
// admission keys of the epochs the receiver holds. Keys (a member) and Ticket
// (a hub) each admit one epoch; after a rotation (issue 10) a receiver will
// hold one of several.
type Admitter interface {
	gathering() GatheringID
	// admissionKey is the key of an epoch, if it is held.
	admissionKey(epoch uint64) ([32]byte, bool)
}

func (k Keys) gathering() GatheringID { return k.Gathering }

func (k Keys) admissionKey(epoch uint64) ([32]byte, bool) {
	return k.admission, epoch == k.Epoch
}

func (t Ticket) gathering() GatheringID { return t.Gathering }

func (t Ticket) admissionKey(epoch uint64) ([32]byte, bool) {
	return t.Key, epoch == t.Epoch
}

// CheckAdmission checks that e belongs to a's gathering and carries a valid
// admission tag of an epoch a holds. It is cheap (one HMAC) and runs before
// the signature check. Errors wrap ErrForeign, ErrEpoch (an epoch a does not
// hold: not the sender's fault, it may be newer than the receiver) or
// ErrAdmission (a bad tag: only an outsider makes one).
func CheckAdmission(a Admitter, e *Envelope) error {
	if g := a.gathering(); e.Gathering != g {
		return fmt.Errorf("%w: %s", ErrForeign, e.Gathering)
	}
	key, ok := a.admissionKey(e.Epoch)
	if !ok {
		return fmt.Errorf("%w: epoch %d of operation %s", ErrEpoch, e.Epoch, e.id)
	}
	end := len(e.raw) - sigSize
	if !hmac.Equal(appendTag(nil, e.raw[:end-tagSize], &key), e.raw[end-tagSize:end]) {
		return fmt.Errorf("%w: operation %s", ErrAdmission, e.id)
	}
	return nil
}

// Admit is the door every receiver, member or hub, runs first on an encoded
// operation: decode, gathering, admission tag, clock drift (now is the
// receiver's physical time in Unix ms). What passes still needs its
// signature verified, and a member still opens it.
func Admit(a Admitter, raw []byte, now int64) (*Envelope, error) {
	e, err := DecodeEnvelope(raw)
	if err != nil {
		return nil, err
	}
	if err := CheckAdmission(a, e); err != nil {
		return nil, err
	}
	if err := CheckDrift(e.Clock, now); err != nil {
		return nil, err
	}
	return e, nil
}

// appendTag appends the admission tag of msg to b. The tag is truncated to
// 16 bytes: forging one is a 2^-128 guess per try, and every try costs the
// forger a message.
func appendTag(b, msg []byte, key *[32]byte) []byte {
	mac := hmac.New(sha256.New, key[:])
	mac.Write(msg)
	return append(b, mac.Sum(nil)[:tagSize]...)
}

// Keyring is the keys of every epoch a member holds. It admits and opens
// operations of any of them and seals under the newest. One keyring is
// shared by the goroutines of a node's pipeline, hence its lock.
type Keyring struct {
	mu     sync.RWMutex
	epochs map[uint64]Keys
	newest uint64
}

var _ Admitter = (*Keyring)(nil)

// NewKeyring holds first, usually epoch 0's keys.
func NewKeyring(first Keys) *Keyring {
	return &Keyring{epochs: map[uint64]Keys{first.Epoch: first}, newest: first.Epoch}
}

// Add holds k; it replaces any keys of k's epoch held before.
func (r *Keyring) Add(k Keys) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.epochs[k.Epoch] = k
	r.newest = max(r.newest, k.Epoch)
}

// Get returns the keys of an epoch, if held.
func (r *Keyring) Get(epoch uint64) (Keys, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	k, ok := r.epochs[epoch]
	return k, ok
}

// Newest returns the keys of the newest epoch held: new operations are
// sealed under them.
func (r *Keyring) Newest() Keys {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.epochs[r.newest]
}

// Open opens e with the keys of its epoch; ErrEpoch if they are not held.
func (r *Keyring) Open(e *Envelope) (Op, error) {
	k, ok := r.Get(e.Epoch)
	if !ok {
		return Op{}, fmt.Errorf("%w: epoch %d of operation %s", ErrEpoch, e.Epoch, e.ID())
	}
	return k.Open(e)
}

func (r *Keyring) gathering() GatheringID { return r.Newest().Gathering }

func (r *Keyring) admissionKey(epoch uint64) ([32]byte, bool) {
	k, ok := r.Get(epoch)
	return k.admission, ok
}
