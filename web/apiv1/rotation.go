package apiv1

import (
	"context"

	"github.com/convene/convene/crdt"
)

// Rotate is POST /invite/rotation: a facilitator starts the next epoch.
// As names the local identity that rotates; nil picks a facilitator.
type Rotate struct {
	As *crdt.IdentityID `json:"as,omitempty"`
}

// Rotated is the answer to POST /invite/rotation: the new invite, which
// carries the new epoch's secret, and the rotation operations made.
type Rotated struct {
	Invite     string      `json:"invite"`
	Operations []crdt.OpID `json:"operations"`
}

// Rotate is POST /invite/rotation.
func (c *Client) Rotate(ctx context.Context, req Rotate) (Rotated, error) {
	return api[Rotated](ctx, c, "POST", "/invite/rotation", req)
}
