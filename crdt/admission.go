package crdt

import (
	"crypto/hmac"
	"errors"
	"fmt"
	"slices"
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
	// admissionKeys are the keys of an epoch held: none, one, or several
	// after concurrent rotations to one epoch (see Keyring).
	admissionKeys(epoch uint64) [][32]byte
}

func (k Keys) gathering() GatheringID { return k.Gathering }

func (k Keys) admissionKeys(epoch uint64) [][32]byte {
	if epoch != k.Epoch {
		return nil
	}
	return [][32]byte{k.admission}
}

func (t Ticket) gathering() GatheringID { return t.Gathering }

func (t Ticket) admissionKeys(epoch uint64) [][32]byte {
	if epoch != t.Epoch {
		return nil
	}
	return [][32]byte{t.Key}
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
	keys := a.admissionKeys(e.Epoch)
	if len(keys) == 0 {
		return fmt.Errorf("%w: epoch %d of operation %s", ErrEpoch, e.Epoch, e.id)
	}
	end := len(e.raw) - sigSize
	var t *tagger
	if p, ok := a.(tagPooler); ok {
		t = p.tagPool().get()
		defer p.tagPool().put(t)
	} else {
		t = newTagger()
	}
	for i := range keys {
		if hmac.Equal(t.mac(&keys[i], e.raw[:end-tagSize])[:tagSize], e.raw[end-tagSize:end]) {
			return nil
		}
	}
	return fmt.Errorf("%w: operation %s", ErrAdmission, e.id)
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
	return append(b, newTagger().mac(key, msg)[:tagSize]...)
}

// Keyring is the keys of every epoch a member holds. It admits and opens
// operations of any of them and seals under the newest. An epoch may have
// several keys, when facilitators rotated to it concurrently while apart:
// the first is the one sealed under (the node puts the winning rotation's
// first, see node/keyring.go), and the others still open what was sealed
// under them. One keyring is shared by the goroutines of a node's pipeline,
// hence its lock.
type Keyring struct {
	mu     sync.RWMutex
	epochs map[uint64][]Keys
	newest uint64
	tags   taggers // for CheckAdmission
}

var (
	_ Admitter  = (*Keyring)(nil)
	_ tagPooler = (*Keyring)(nil)
)

func (r *Keyring) tagPool() *taggers { return &r.tags }

// NewKeyring holds first, usually epoch 0's keys.
func NewKeyring(first Keys) *Keyring {
	return &Keyring{epochs: map[uint64][]Keys{first.Epoch: {first}}, newest: first.Epoch}
}

// Add holds k. If preferred, k becomes the one its epoch seals under;
// otherwise it only opens and admits.
func (r *Keyring) Add(k Keys, preferred bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	list := slices.DeleteFunc(slices.Clone(r.epochs[k.Epoch]), func(x Keys) bool { return x == k })
	if preferred {
		list = append([]Keys{k}, list...)
	} else {
		list = append(list, k)
	}
	r.epochs[k.Epoch] = list
	r.newest = max(r.newest, k.Epoch)
}

// Get returns the preferred keys of an epoch, if held.
func (r *Keyring) Get(epoch uint64) (Keys, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if l := r.epochs[epoch]; len(l) > 0 {
		return l[0], true
	}
	return Keys{}, false
}

// Newest returns the preferred keys of the newest epoch held: new
// operations are sealed under them.
func (r *Keyring) Newest() Keys {
	k, _ := r.Get(r.newestEpoch())
	return k
}

func (r *Keyring) newestEpoch() uint64 {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.newest
}

// Open opens e with a key of its epoch; ErrEpoch if none is held.
func (r *Keyring) Open(e *Envelope) (Op, error) {
	op, _, err := r.OpenInto(e, nil)
	return op, err
}

// OpenInto is Open decrypting into buf's storage, for a caller that opens
// many in turn (a replay): it returns the storage to pass next. Nothing
// the operation holds points into it.
func (r *Keyring) OpenInto(e *Envelope, buf []byte) (Op, []byte, error) {
	r.mu.RLock()
	list := r.epochs[e.Epoch]
	r.mu.RUnlock()
	if len(list) == 0 {
		return Op{}, buf, fmt.Errorf("%w: epoch %d of operation %s", ErrEpoch, e.Epoch, e.ID())
	}
	var err error
	for _, k := range list {
		var op Op
		if op, buf, err = k.openInto(e, buf); err == nil {
			return op, buf, nil
		}
	}
	return Op{}, buf, err
}

func (r *Keyring) gathering() GatheringID { return r.Newest().Gathering }

func (r *Keyring) admissionKeys(epoch uint64) [][32]byte {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out [][32]byte
	for _, k := range r.epochs[epoch] {
		out = append(out, k.admission)
	}
	return out
}
