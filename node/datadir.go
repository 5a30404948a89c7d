package node

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/node/store"
)

// Init creates a gathering in dir: credentials, a first identity, and the
// gathering's first operations. It fails if dir already holds one.
func Init(ctx context.Context, dir, name, identity string) (crdt.Credentials, error) {
	if identity == "" {
		identity = "organizer"
	}
	founder, err := newLocalKey(identity)
	if err != nil {
		return crdt.Credentials{}, err
	}
	founder.Default = true
	creds := crdt.Credentials{Founder: founder.ID}
	if _, err := rand.Read(creds.Secret[:]); err != nil {
		return crdt.Credentials{}, err
	}
	keys := creds.Derive()
	var hlc crdt.HLC
	now := time.Now().UnixMilli()
	var envs []*crdt.Envelope
	for _, body := range []crdt.Body{&crdt.GatheringBody{Name: name}, &crdt.IdentityBody{Name: identity}} {
		env, _, err := keys.Seal(founder.signer, hlc.Now(now), body)
		if err != nil {
			return crdt.Credentials{}, fmt.Errorf("init: %w", err)
		}
		envs = append(envs, env)
	}
	if err := create(ctx, dir, creds, name, founder, envs); err != nil {
		return crdt.Credentials{}, fmt.Errorf("init: %w", err)
	}
	return creds, nil
}

// Join prepares dir for an existing gathering: a local identity named
// identity, which announces itself, and an empty store. The gathering's
// operations arrive from peers once the node runs.
func Join(ctx context.Context, dir string, creds crdt.Credentials, identity string) error {
	if identity == "" {
		identity = "participant"
	}
	me, err := newLocalKey(identity)
	if err != nil {
		return err
	}
	me.Default = true
	var hlc crdt.HLC
	env, _, err := creds.Derive().Seal(me.signer, hlc.Now(time.Now().UnixMilli()), &crdt.IdentityBody{Name: identity})
	if err != nil {
		return fmt.Errorf("join: %w", err)
	}
	if err := create(ctx, dir, creds, "", me, []*crdt.Envelope{env}); err != nil {
		return fmt.Errorf("join: %w", err)
	}
	return nil
}

// create writes a new data directory. gathering.json comes last: until it
// exists the directory holds no gathering, and Init or Join may run again.
func create(ctx context.Context, dir string, creds crdt.Credentials, name string, first localKey, envs []*crdt.Envelope) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(dir, gatheringFile)); err == nil {
		return ErrExists
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := saveIdentities(dir, []localKey{first}); err != nil {
		return err
	}
	if _, err := LoadPeerKey(dir); err != nil {
		return err
	}
	st, err := store.Open(filepath.Join(dir, storeDir))
	if err != nil {
		return err
	}
	l, err := st.Log(ctx, creds.Derive().Gathering)
	if err == nil {
		_, err = l.Put(ctx, envs)
	}
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return saveGathering(dir, creds, name)
}
