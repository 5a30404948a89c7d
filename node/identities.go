package node

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/convene/convene/crdt"
)

// LocalIdentity is an identity whose private key this node holds.
type LocalIdentity struct {
	ID      crdt.IdentityID `json:"id"`
	Name    string          `json:"name"`
	Default bool            `json:"default"`
}

// Identities are the local identities, the default one first.
func (n *Node) Identities() []LocalIdentity {
	n.idMu.RLock()
	defer n.idMu.RUnlock()
	out := make([]LocalIdentity, len(n.ids))
	for i, k := range n.ids {
		out[i] = k.LocalIdentity
	}
	slices.SortStableFunc(out, func(a, b LocalIdentity) int {
		switch {
		case a.Default == b.Default:
			return 0
		case a.Default:
			return -1
		}
		return 1
	})
	return out
}

// DefaultIdentity is the identity that acts when none is named.
func (n *Node) DefaultIdentity() LocalIdentity {
	k, _ := n.identity(crdt.IdentityID{})
	return k.LocalIdentity
}

// identity finds a local identity; the zero id means the default one.
func (n *Node) identity(id crdt.IdentityID) (localKey, bool) {
	n.idMu.RLock()
	defer n.idMu.RUnlock()
	for _, k := range n.ids {
		if (id == crdt.IdentityID{} && k.Default) || k.ID == id {
			return k, true
		}
	}
	return localKey{}, false
}

// CreateIdentity makes a new local identity and announces its name.
func (n *Node) CreateIdentity(ctx context.Context, name string) (LocalIdentity, error) {
	k, err := newLocalKey(name)
	if err != nil {
		return LocalIdentity{}, err
	}
	var prev []localKey
	saved := false
	n.awaitClock(ctx)
	n.writeMu.Lock()
	env, _, err := n.act(ctx, k.signer, &crdt.IdentityBody{Name: name}, func() error {
		// The key is saved before its first operation is stored, so
		// no stored operation is signed by a key this node lost.
		n.idMu.Lock()
		defer n.idMu.Unlock()
		prev = n.ids
		ids := append(slices.Clone(n.ids), k)
		if err := saveIdentities(n.dir, ids); err != nil {
			return err
		}
		n.ids, saved = ids, true
		return nil
	})
	if err != nil && saved {
		// Its operation was not stored: forget the key again, so that no
		// identity is left that the gathering never heard of.
		n.idMu.Lock()
		n.ids = prev
		if rerr := saveIdentities(n.dir, prev); rerr != nil {
			err = errors.Join(err, fmt.Errorf("restore %s: %w", identitiesFile, rerr))
		}
		n.idMu.Unlock()
	}
	n.writeMu.Unlock()
	if err != nil {
		return LocalIdentity{}, err
	}
	n.publish(ctx, env)
	return k.LocalIdentity, nil
}

// RenameIdentity gives a local identity a new name: a second naming
// operation of the same kind (crdt.KindIdentity), signed by the identity
// itself, so that everyone's view shows its latest name. The name in
// identities.json follows once the operation is stored; if that file
// cannot be written the rename still stands (it is stored, and the
// gathering's view is what pages show): the failure is logged, and the
// file's old name comes back in this node's list only after a restart.
func (n *Node) RenameIdentity(ctx context.Context, id crdt.IdentityID, name string) (LocalIdentity, error) {
	if (id == crdt.IdentityID{}) {
		return LocalIdentity{}, fmt.Errorf("%w: no identity named", crdt.ErrInvalid)
	}
	k, ok := n.identity(id)
	if !ok {
		return LocalIdentity{}, fmt.Errorf("%w: %s", ErrUnknownIdentity, id)
	}
	n.writeMu.Lock()
	env, _, err := n.act(ctx, k.signer, &crdt.IdentityBody{Name: name}, nil)
	var saveErr error
	if err == nil {
		n.idMu.Lock()
		ids := slices.Clone(n.ids)
		for i := range ids {
			if ids[i].ID == id {
				ids[i].Name = name
				k = ids[i]
			}
		}
		saveErr = saveIdentities(n.dir, ids)
		n.ids = ids
		n.idMu.Unlock()
	}
	n.writeMu.Unlock()
	if err != nil {
		return LocalIdentity{}, err
	}
	n.publish(ctx, env)
	if saveErr != nil {
		n.log.Warn("renamed, but "+identitiesFile+" keeps the old name", "identity", id, "err", saveErr)
	}
	return k.LocalIdentity, nil
}
