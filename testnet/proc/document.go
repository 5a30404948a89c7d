package proc

import (
	"context"
	"encoding/json"

	"github.com/convene/convene/web/apiv1"
)

// DocumentJSON fetches a session's document without its freshness, which
// differs between nodes and restarts, as JSON for comparing nodes.
func DocumentJSON(ctx context.Context, c *apiv1.Client, sid string) (string, error) {
	var doc apiv1.Document
	if _, err := c.Get(ctx, apiv1.Prefix+"/sessions/"+sid+"/document", &doc); err != nil {
		return "", err
	}
	b, err := json.Marshal(doc.Document)
	return string(b), err
}
