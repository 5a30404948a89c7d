package proc

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// Client talks to one node's HTTP API with its token.
type Client struct {
	Base  string // http://HOST:PORT
	Token string
	HTTP  *http.Client
}

// RequestOption changes a request just before it is sent.
type RequestOption func(*http.Request)

// Do sends a request to path (from the server root) with the token and
// returns the status and body. A json.RawMessage body is sent as is,
// anything else non-nil is encoded as JSON.
func (c *Client) Do(ctx context.Context, method, path string, in any, opts ...RequestOption) (int, []byte, error) {
	var rd io.Reader
	if in != nil {
		b, ok := in.(json.RawMessage)
		if !ok {
			var err error
			if b, err = json.Marshal(in); err != nil {
				return 0, nil, fmt.Errorf("%s %s: %w", method, path, err)
			}
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.Base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, o := range opts {
		o(req)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	return resp.StatusCode, b, nil
}

// StatusError is an answer with another status than the one wanted.
type StatusError struct {
	Method, Path string
	Code, Want   int // Want 0: any 2xx
	Body         []byte
}

func (e *StatusError) Error() string {
	want := "2xx"
	if e.Want != 0 {
		want = fmt.Sprint(e.Want)
	}
	return fmt.Sprintf("%s %s: status %d, want %s: %s", e.Method, e.Path, e.Code, want, bytes.TrimSpace(e.Body))
}

// Call sends a request that must answer want (0: any 2xx), decoding the
// answer into out when out is not nil, and returns the answer's body.
func (c *Client) Call(ctx context.Context, method, path string, in any, want int, out any) ([]byte, error) {
	code, b, err := c.Do(ctx, method, path, in)
	if err != nil {
		return nil, err
	}
	if (want != 0 && code != want) || (want == 0 && (code < 200 || code > 299)) {
		return nil, &StatusError{Method: method, Path: path, Code: code, Want: want, Body: b}
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return nil, fmt.Errorf("%s %s: decode %s: %w", method, path, b, err)
		}
	}
	return b, nil
}

// Get fetches path, which must answer 2xx, into out (if not nil).
func (c *Client) Get(ctx context.Context, path string, out any) ([]byte, error) {
	return c.Call(ctx, http.MethodGet, path, nil, 0, out)
}

// Post sends in to path, which must answer 2xx, decoding into out (if not
// nil).
func (c *Client) Post(ctx context.Context, path string, in, out any) ([]byte, error) {
	return c.Call(ctx, http.MethodPost, path, in, 0, out)
}
