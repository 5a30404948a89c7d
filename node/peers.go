package node

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
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

// rememberedFile keeps the peers this node synced with, so that a restart
// finds the room again without mDNS, an invite's stale addresses or a
// --peer typed by hand. The data directory is one gathering's, so the
// memory is per gathering.
const rememberedFile = "remembered-peers.json"

// maxRemembered bounds the peers remembered; the most recently seen stay.
const maxRemembered = 32

type rememberedPeer struct {
	ID    string    `json:"id"`
	Addrs []string  `json:"addrs"`
	Seen  time.Time `json:"seen"`
}

// LoadRemembered reads the peers saved by RememberPeers (none before the
// first save).
func LoadRemembered(dir string) ([]peer.AddrInfo, error) {
	rs, err := loadRemembered(dir)
	if err != nil {
		return nil, err
	}
	out := make([]peer.AddrInfo, 0, len(rs))
	for _, r := range rs {
		id, err := peer.Decode(r.ID)
		if err != nil {
			return nil, fmt.Errorf("read remembered peers: %q: %w", r.ID, err)
		}
		ai := peer.AddrInfo{ID: id}
		for _, v := range r.Addrs {
			a, err := ma.NewMultiaddr(v)
			if err != nil {
				return nil, fmt.Errorf("read remembered peers: %q: %w", v, err)
			}
			ai.Addrs = append(ai.Addrs, a)
		}
		out = append(out, ai)
	}
	return out, nil
}

func loadRemembered(dir string) ([]rememberedPeer, error) {
	b, err := os.ReadFile(filepath.Join(dir, rememberedFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read remembered peers: %w", err)
	}
	var rs []rememberedPeer
	if err := json.Unmarshal(b, &rs); err != nil {
		return nil, fmt.Errorf("read remembered peers %s: %w", rememberedFile, err)
	}
	return rs, nil
}

// RememberPeers adds the peers synced with now (seen at now) to those
// remembered in dir, replacing their addresses, and keeps the
// maxRemembered most recently seen.
func RememberPeers(dir string, synced []peer.AddrInfo, now time.Time) error {
	if len(synced) == 0 {
		return nil
	}
	old, err := loadRemembered(dir)
	if err != nil {
		old = nil // a damaged file is replaced by what is known now
	}
	byID := make(map[string]rememberedPeer, len(old)+len(synced))
	for _, r := range old {
		byID[r.ID] = r
	}
	for _, ai := range synced {
		r := rememberedPeer{ID: ai.ID.String(), Seen: now.UTC()}
		for _, a := range ai.Addrs {
			r.Addrs = append(r.Addrs, a.String())
		}
		byID[r.ID] = r
	}
	rs := make([]rememberedPeer, 0, len(byID))
	for _, r := range byID {
		rs = append(rs, r)
	}
	slices.SortFunc(rs, func(a, b rememberedPeer) int {
		if c := b.Seen.Compare(a.Seen); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	rs = rs[:min(len(rs), maxRemembered)]
	b, err := json.Marshal(rs)
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, rememberedFile), 0o600, b); err != nil {
		return fmt.Errorf("save remembered peers: %w", err)
	}
	return nil
}
