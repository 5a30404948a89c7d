package node

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/libp2p/go-libp2p/core/crypto"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/internal/atomicfile"
)

// Files of the data directory.
const (
	gatheringFile  = "gathering.json"
	identitiesFile = "identities.json"
	peerKeyFile    = "peer.key"
	storeDir       = "store"
)

// gatheringJSON is gathering.json: the credentials, and the name for
// commands that run without opening the store.
type gatheringJSON struct {
	Secret  string          `json:"secret"`
	Founder crdt.IdentityID `json:"founder"`
	Name    string          `json:"name"`
}

// LoadGathering reads the gathering's credentials and name from dir, or
// ErrNoGathering.
func LoadGathering(dir string) (crdt.Credentials, string, error) {
	var creds crdt.Credentials
	b, err := os.ReadFile(filepath.Join(dir, gatheringFile))
	if errors.Is(err, fs.ErrNotExist) {
		return creds, "", ErrNoGathering
	}
	if err != nil {
		return creds, "", fmt.Errorf("read %s: %w", gatheringFile, err)
	}
	var g gatheringJSON
	if err := json.Unmarshal(b, &g); err != nil {
		return creds, "", fmt.Errorf("read %s: %w", gatheringFile, err)
	}
	secret, err := hex.DecodeString(g.Secret)
	if err != nil || len(secret) != len(creds.Secret) {
		return creds, "", fmt.Errorf("read %s: the secret must be %d hex digits", gatheringFile, 2*len(creds.Secret))
	}
	copy(creds.Secret[:], secret)
	creds.Founder = g.Founder
	return creds, g.Name, nil
}

func saveGathering(dir string, creds crdt.Credentials, name string) error {
	b, err := json.MarshalIndent(gatheringJSON{
		Secret:  hex.EncodeToString(creds.Secret[:]),
		Founder: creds.Founder,
		Name:    name,
	}, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, gatheringFile), 0o600, append(b, '\n')); err != nil {
		return fmt.Errorf("write %s: %w", gatheringFile, err)
	}
	return nil
}

// localKey is a local identity with its key.
type localKey struct {
	LocalIdentity
	signer crdt.Signer
}

// identityJSON is one entry of identities.json.
type identityJSON struct {
	Name    string `json:"name"`
	Seed    string `json:"seed"` // ed25519 seed, hex
	Default bool   `json:"default"`
}

func newLocalKey(name string) (localKey, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return localKey{}, err
	}
	s, err := crdt.NewSigner(priv)
	if err != nil {
		return localKey{}, err
	}
	return localKey{LocalIdentity: LocalIdentity{ID: s.ID, Name: name}, signer: s}, nil
}

func loadIdentities(dir string) ([]localKey, error) {
	b, err := os.ReadFile(filepath.Join(dir, identitiesFile))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", identitiesFile, err)
	}
	var list []identityJSON
	if err := json.Unmarshal(b, &list); err != nil {
		return nil, fmt.Errorf("read %s: %w", identitiesFile, err)
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("read %s: no identity", identitiesFile)
	}
	out := make([]localKey, 0, len(list))
	hasDefault := false
	for i, e := range list {
		seed, err := hex.DecodeString(e.Seed)
		if err != nil || len(seed) != ed25519.SeedSize {
			return nil, fmt.Errorf("read %s: identity %d: the seed must be %d hex digits", identitiesFile, i, 2*ed25519.SeedSize)
		}
		s, err := crdt.NewSigner(ed25519.NewKeyFromSeed(seed))
		if err != nil {
			return nil, fmt.Errorf("read %s: identity %d: %w", identitiesFile, i, err)
		}
		def := e.Default && !hasDefault
		hasDefault = hasDefault || def
		out = append(out, localKey{LocalIdentity: LocalIdentity{ID: s.ID, Name: e.Name, Default: def}, signer: s})
	}
	if !hasDefault {
		out[0].Default = true
	}
	return out, nil
}

func saveIdentities(dir string, ids []localKey) error {
	list := make([]identityJSON, len(ids))
	for i, k := range ids {
		list[i] = identityJSON{Name: k.Name, Seed: hex.EncodeToString(k.signer.Key.Seed()), Default: k.Default}
	}
	b, err := json.MarshalIndent(list, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, identitiesFile), 0o600, append(b, '\n')); err != nil {
		return fmt.Errorf("write %s: %w", identitiesFile, err)
	}
	return nil
}

// LoadPeerKey reads the node's libp2p key from dir, creating it on first
// use. It is separate from every identity: it names the laptop on the
// network, not a person.
func LoadPeerKey(dir string) (crypto.PrivKey, error) {
	path := filepath.Join(dir, peerKeyFile)
	b, err := os.ReadFile(path)
	if err == nil {
		k, err := crypto.UnmarshalPrivateKey(b)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", peerKeyFile, err)
		}
		return k, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read %s: %w", peerKeyFile, err)
	}
	k, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		return nil, err
	}
	b, err = crypto.MarshalPrivateKey(k)
	if err != nil {
		return nil, err
	}
	if err := atomicfile.WriteFile(path, 0o600, b); err != nil {
		return nil, fmt.Errorf("write %s: %w", peerKeyFile, err)
	}
	return k, nil
}
