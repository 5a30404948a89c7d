package node

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/internal/atomicfile"
)

// epochsFile holds the secrets of the epochs after 0 that this node was
// given by rotations (epoch 0's is the invite's, in gathering.json).
const epochsFile = "epochs.json"

// EpochSecret is an epoch after 0 that a rotation gave: what invites carry
// after a rotation, and what epochs.json keeps.
type EpochSecret struct {
	Epoch    uint64
	Secret   [32]byte
	Rotation crdt.OpID // the rotation operation that gave it
}

// Epochs returns the epochs after 0 this node holds.
func (n *Node) Epochs() []EpochSecret { return n.ring.secrets() }

func (r *keyring) secrets() []EpochSecret {
	r.mu.Lock()
	defer r.mu.Unlock()
	return toSecrets(r.epochs)
}

func toSecrets(list []epochJSON) []EpochSecret {
	var out []EpochSecret
	for _, e := range list {
		var s [32]byte
		hex.Decode(s[:], []byte(e.Secret)) // checked when read
		out = append(out, EpochSecret{Epoch: e.Epoch, Secret: s, Rotation: e.Rotation})
	}
	return out
}

// LoadEpochs reads the epochs after 0 held in the node directory dir.
func LoadEpochs(dir string, creds crdt.Credentials) ([]EpochSecret, error) {
	r, err := loadKeyring(dir, false, creds.Derive())
	if err != nil {
		return nil, err
	}
	return r.secrets(), nil
}

// SaveEpochs adds epochs (from an invite) to those held in the node
// directory dir, which no node has open: a laptop joining after a rotation
// holds the epochs its invite carries.
func SaveEpochs(dir string, creds crdt.Credentials, epochs []EpochSecret) error {
	first := creds.Derive()
	r, err := loadKeyring(dir, false, first)
	if err != nil {
		return err
	}
	for _, e := range epochs {
		if _, err := r.take(e.Epoch, e.Secret, e.Rotation, crdt.DeriveEpoch(first.Gathering, first.Founder, e.Epoch, e.Secret)); err != nil {
			return err
		}
	}
	return nil
}

// epochJSON is one entry of epochs.json.
type epochJSON struct {
	Epoch    uint64    `json:"epoch"`
	Secret   string    `json:"secret"` // hex
	Rotation crdt.OpID `json:"rotation"`
}

// keyring is the node's crdt.Keyring with where each epoch came from: the
// rotation operation that gave it, so that of two concurrent rotations to
// one epoch every node seals under the one of the lowest operation id.
type keyring struct {
	*crdt.Keyring
	mu     sync.Mutex
	path   string // "" in memory
	epochs []epochJSON
}

// loadKeyring reads the epochs held in dir over epoch 0's keys.
func loadKeyring(dir string, memory bool, first crdt.Keys) (*keyring, error) {
	r := &keyring{Keyring: crdt.NewKeyring(first)}
	if memory {
		return r, nil
	}
	r.path = filepath.Join(dir, epochsFile)
	b, err := os.ReadFile(r.path)
	if errors.Is(err, fs.ErrNotExist) {
		return r, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read epochs: %w", err)
	}
	if err := json.Unmarshal(b, &r.epochs); err != nil {
		return nil, fmt.Errorf("read %s: %w", r.path, err)
	}
	// Lowest rotation first, so that the preferred keys of each epoch are
	// those of its lowest rotation.
	sorted := slices.Clone(r.epochs)
	slices.SortFunc(sorted, func(a, b epochJSON) int { return bytes.Compare(a.Rotation[:], b.Rotation[:]) })
	for _, e := range sorted {
		var s [32]byte
		if n, err := hex.Decode(s[:], []byte(e.Secret)); err != nil || n != 32 || len(e.Secret) != 64 {
			return nil, fmt.Errorf("read %s: epoch %d: secret is not 64 hex digits", r.path, e.Epoch)
		}
		_, held := r.Get(e.Epoch)
		r.Add(crdt.DeriveEpoch(first.Gathering, first.Founder, e.Epoch, s), !held)
	}
	return r, nil
}

// holds reports whether the keyring holds epoch as given by rotation from.
func (r *keyring) holds(epoch uint64, from crdt.OpID) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.epochs {
		if e.Epoch == epoch && e.Rotation == from {
			return true
		}
	}
	return false
}

// take holds the epoch a rotation gives. Of two rotations to one epoch
// (facilitators apart), the one of the lower operation id is sealed under
// by every node that holds it; the other's keys are kept to open what was
// sealed under them. It reports whether the keyring changed.
func (r *keyring) take(epoch uint64, secret [32]byte, from crdt.OpID, k crdt.Keys) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	preferred := true
	for _, e := range r.epochs {
		if e.Epoch != epoch {
			continue
		}
		if e.Rotation == from {
			return false, nil
		}
		if bytes.Compare(e.Rotation[:], from[:]) < 0 {
			preferred = false
		}
	}
	next := append(append([]epochJSON(nil), r.epochs...), epochJSON{Epoch: epoch, Secret: hex.EncodeToString(secret[:]), Rotation: from})
	if r.path != "" {
		b, err := json.MarshalIndent(next, "", "  ")
		if err != nil {
			return false, err
		}
		if err := atomicfile.WriteFile(r.path, 0o600, b, []byte("\n")); err != nil {
			return false, fmt.Errorf("write epochs: %w", err)
		}
	}
	r.epochs = next
	r.Add(k, preferred)
	return true, nil
}
