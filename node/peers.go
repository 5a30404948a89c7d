package node

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	ma "github.com/multiformats/go-multiaddr"

	"github.com/convene/convene/internal/atomicfile"
)

// invitePeersFile keeps the addresses an invite carried, so that every
// `convene run` after `convene join` dials them again (path "invite").
const invitePeersFile = "invite-peers.json"

// SaveInvite records in dir, after Join, what else the invite carried: the
// peer addresses to dial and, until the gathering's own operations arrive,
// its name.
func SaveInvite(dir string, inv Invite) error {
	creds, name, err := LoadGathering(dir)
	if err != nil {
		return err
	}
	if creds != inv.Credentials {
		return fmt.Errorf("save invite: %w: it is for another gathering than %s holds", ErrBadInvite, dir)
	}
	if err := SaveEpochs(dir, creds, inv.Epochs); err != nil {
		return fmt.Errorf("save invite: %w", err)
	}
	if name == "" && inv.Name != "" {
		if err := saveGathering(dir, creds, inv.Name); err != nil {
			return fmt.Errorf("save invite: %w", err)
		}
	}
	s := make([]string, len(inv.Addrs))
	for i, a := range inv.Addrs {
		s[i] = a.String()
	}
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, invitePeersFile), 0o600, b); err != nil {
		return fmt.Errorf("save invite peers: %w", err)
	}
	return nil
}

// LoadInvitePeers reads the addresses saved by SaveInvite; none if the
// node was not started from an invite.
func LoadInvitePeers(dir string) ([]ma.Multiaddr, error) {
	b, err := os.ReadFile(filepath.Join(dir, invitePeersFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read invite peers: %w", err)
	}
	var s []string
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("read invite peers %s: %w", invitePeersFile, err)
	}
	out := make([]ma.Multiaddr, 0, len(s))
	for _, v := range s {
		a, err := ma.NewMultiaddr(v)
		if err != nil {
			return nil, fmt.Errorf("read invite peers: %q: %w", v, err)
		}
		out = append(out, a)
	}
	return out, nil
}
