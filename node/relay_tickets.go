package node

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/internal/atomicfile"
)

// relayTicketsFile keeps, in a hub's directory, every ticket it holds,
// those handed over by members after rotations included, so that a hub
// restarted with its first ticket still serves the newer epochs.
const relayTicketsFile = "tickets.json"

func loadRelayTickets(dir string) ([]crdt.Ticket, error) {
	b, err := os.ReadFile(filepath.Join(dir, relayTicketsFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", relayTicketsFile, err)
	}
	var texts []string
	if err := json.Unmarshal(b, &texts); err != nil {
		return nil, fmt.Errorf("read %s: %w", relayTicketsFile, err)
	}
	out := make([]crdt.Ticket, 0, len(texts))
	for _, s := range texts {
		t, err := crdt.ParseTicket(s)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", relayTicketsFile, err)
		}
		out = append(out, t)
	}
	return out, nil
}

// saveTickets writes every ticket the relay holds.
func (r *Relay) saveTickets(dir string, log *slog.Logger) {
	r.saveMu.Lock()
	defer r.saveMu.Unlock()
	var texts []string
	for _, rep := range r.reps {
		for _, t := range rep.Tickets() {
			texts = append(texts, t.String())
		}
	}
	slices.Sort(texts)
	b, err := json.MarshalIndent(texts, "", "  ")
	if err == nil {
		err = atomicfile.WriteFile(filepath.Join(dir, relayTicketsFile), 0o600, b, []byte("\n"))
	}
	if err != nil {
		log.Error("cannot keep the tickets handed over", "err", err)
	}
}

// Tickets are the tickets the relay holds for gathering g, by epoch.
func (r *Relay) Tickets(g crdt.GatheringID) []crdt.Ticket {
	if rep, ok := r.reps[g]; ok {
		return rep.Tickets()
	}
	return nil
}

func findTicket(ts []crdt.Ticket, g crdt.GatheringID) (crdt.Ticket, bool) {
	for _, t := range ts {
		if t.Gathering == g {
			return t, true
		}
	}
	return crdt.Ticket{}, false
}

// NewestTicket is the hub ticket of the newest epoch the node in dir
// holds (the one `convene status` prints): a hub given it serves what
// members write now.
func NewestTicket(dir string) (crdt.Ticket, error) {
	creds, _, err := LoadGathering(dir)
	if err != nil {
		return crdt.Ticket{}, err
	}
	r, err := loadKeyring(dir, false, creds.Derive())
	if err != nil {
		return crdt.Ticket{}, err
	}
	return r.Newest().Ticket(), nil
}
