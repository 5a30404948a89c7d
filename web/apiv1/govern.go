package apiv1

import (
	"context"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/node"
)

// Governing a gathering (docs/API.md, "Governing a gathering"): members,
// removals, the gathering's name and seating, seats, flags of backdating.

// Member is an identity the gathering has seen (GET /members).
type Member = crdt.Member

// Flag is an operation flagged to facilitators as possibly backdated
// (GET /flags): the node's own record, whose JSON tags are this shape.
type Flag = node.Flag

// Remove is POST /removals.
type Remove struct {
	Identity crdt.IdentityID  `json:"identity"`
	Reason   string           `json:"reason,omitempty"`
	As       *crdt.IdentityID `json:"as,omitempty"`
	// Rotate also rotates the invite in the same step, sealed to the
	// members that remain; the answer is then 200 with Removed.
	Rotate bool `json:"rotate,omitempty"`
}

// Removed answers POST /removals with "rotate": true: the removal
// operations, the rotation operations and the new invite.
type Removed struct {
	Removals  []crdt.OpID `json:"removals"`
	Rotations []crdt.OpID `json:"rotations"`
	Invite    string      `json:"invite"`
}

// UpdateGathering is PATCH /gathering: the fields to change.
type UpdateGathering struct {
	Name    *string          `json:"name,omitempty"`
	Seating *string          `json:"seating,omitempty"` // "open" or "seated"
	As      *crdt.IdentityID `json:"as,omitempty"`
}

// Gathering answers GET and PATCH /gathering.
type Gathering struct {
	ID      crdt.GatheringID `json:"id"`
	Name    string           `json:"name"`
	Seating string           `json:"seating"`
}

// HiddenItem is one element of GET /hidden.
type HiddenItem = crdt.HiddenItem

// Hidden is GET /hidden.
func (c *Client) Hidden(ctx context.Context) ([]HiddenItem, error) {
	return api[[]HiddenItem](ctx, c, "GET", "/hidden", nil)
}

// Members is GET /members.
func (c *Client) Members(ctx context.Context) ([]Member, error) {
	return api[[]Member](ctx, c, "GET", "/members", nil)
}

// Remove is POST /removals without rotation (204).
func (c *Client) Remove(ctx context.Context, req Remove) error {
	req.Rotate = false
	_, err := api[struct{}](ctx, c, "POST", "/removals", req)
	return err
}

// RemoveAndRotate is POST /removals with "rotate": true.
func (c *Client) RemoveAndRotate(ctx context.Context, req Remove) (Removed, error) {
	req.Rotate = true
	return api[Removed](ctx, c, "POST", "/removals", req)
}

// Gathering is GET /gathering.
func (c *Client) Gathering(ctx context.Context) (Gathering, error) {
	return api[Gathering](ctx, c, "GET", "/gathering", nil)
}

// UpdateGathering is PATCH /gathering.
func (c *Client) UpdateGathering(ctx context.Context, req UpdateGathering) (Gathering, error) {
	return api[Gathering](ctx, c, "PATCH", "/gathering", req)
}

// Seat is PUT (seated true) or DELETE /groups/{gid}/seat.
func (c *Client) Seat(ctx context.Context, gid crdt.OpID, seated bool, as *crdt.IdentityID) error {
	method := "PUT"
	if !seated {
		method = "DELETE"
	}
	_, err := api[struct{}](ctx, c, method, "/groups/"+gid.String()+"/seat"+asQuery(as), nil)
	return err
}

// Flags is GET /flags.
func (c *Client) Flags(ctx context.Context) ([]Flag, error) {
	return api[[]Flag](ctx, c, "GET", "/flags", nil)
}
