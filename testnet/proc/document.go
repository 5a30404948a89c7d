package proc

import (
	"context"
	"encoding/json"
)

// DocumentJSON fetches a session's document without its freshness, which
// differs between nodes and restarts, as canonical JSON for comparing nodes.
func (c *Client) DocumentJSON(ctx context.Context, sid string) (string, error) {
	var doc map[string]any
	if _, err := c.Call(ctx, "GET", "/api/v1/sessions/"+sid+"/document", nil, 200, &doc); err != nil {
		return "", err
	}
	delete(doc, "freshness")
	b, err := json.Marshal(doc)
	return string(b), err
}
