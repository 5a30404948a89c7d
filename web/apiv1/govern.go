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

// Members is GET /members.
func (c *Client) Members(ctx context.Context) ([]Member, error) {
	return api[[]Member](ctx, c, "GET", "/members", nil)
}

// Remove is POST /removals.
func (c *Client) Remove(ctx context.Context, req Remove) error {
	_, err := api[struct{}](ctx, c, "POST", "/removals", req)
	return err
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
