package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// runFile tells other convene commands that a node is running on a data
// directory, and where its UI and API listen. `convene run` writes it at
// start-up and removes it at shutdown; a stale one (after kill -9) is
// detected because nothing answers at its address.
type runFile struct {
	UI    string   `json:"ui"` // http://host:port
	PID   int      `json:"pid"`
	Addrs []string `json:"addrs"`
}

const runFileName = "run.json"

func writeRunFile(dir string, rf runFile) error {
	b, err := json.Marshal(rf)
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, runFileName+".tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("write run file: %w", err)
	}
	return os.Rename(tmp, filepath.Join(dir, runFileName))
}

func removeRunFile(dir string) { os.Remove(filepath.Join(dir, runFileName)) }

// apiClient talks to the node running on a data directory.
type apiClient struct {
	base  string
	token string
	http  *http.Client
}

// errNotRunning: no node answers for this data directory.
var errNotRunning = errors.New("no running node")

// runningNode returns a client for the node running on dir, or
// errNotRunning.
func runningNode(ctx context.Context, dir string) (*apiClient, error) {
	rf, err := readRunFile(dir)
	if err != nil {
		return nil, err
	}
	tok, err := os.ReadFile(filepath.Join(dir, "api-token"))
	if err != nil {
		return nil, errNotRunning
	}
	c := &apiClient{base: strings.TrimRight(rf.UI, "/") + "/api/v1", token: strings.TrimSpace(string(tok)), http: newLocalClient()}
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := c.do(pctx, http.MethodGet, "/status", nil, nil); err != nil {
		return nil, errNotRunning
	}
	return c, nil
}

// readRunFile reads dir's run file, or fails with errNotRunning; whether
// the node it names still runs is for runningNode to find out.
func readRunFile(dir string) (runFile, error) {
	b, err := os.ReadFile(filepath.Join(dir, runFileName))
	if err != nil {
		return runFile{}, errNotRunning
	}
	var rf runFile
	if json.Unmarshal(b, &rf) != nil || rf.UI == "" {
		return runFile{}, errNotRunning
	}
	return rf, nil
}

// jsonRequestTimeout bounds a request that carries no bundle.
const jsonRequestTimeout = 30 * time.Second

// newLocalClient is an HTTP client for the node on this machine. It has no
// overall timeout, since a bundle going either way can take minutes;
// requests are bounded by their contexts, and a node that does not answer
// at all is caught by the dial and response-header timeouts.
func newLocalClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:                 nil, // the node is local; never ask a proxy
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		ResponseHeaderTimeout: 2 * time.Minute, // an import answers once it is stored
		MaxIdleConns:          2,
		IdleConnTimeout:       30 * time.Second,
	}}
}

// do sends a request; out, if not nil, receives the JSON answer, or the raw
// body when it is an io.Writer.
func (c *apiClient) do(ctx context.Context, method, path string, in, out any) error {
	_, upload := in.(io.Reader)
	_, download := out.(io.Writer)
	if !upload && !download {
		// A JSON exchange: small, so bounded as a whole.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, jsonRequestTimeout)
		defer cancel()
	}
	var body io.Reader
	if in != nil {
		if r, ok := in.(io.Reader); ok {
			body = r
		} else {
			b, err := json.Marshal(in)
			if err != nil {
				return err
			}
			body = bytes.NewReader(b)
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if in != nil {
		if _, ok := in.(io.Reader); ok {
			req.Header.Set("Content-Type", "application/octet-stream")
		} else {
			req.Header.Set("Content-Type", "application/json")
		}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("talk to the running node: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		var e struct{ Error, Message string }
		json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&e)
		return fmt.Errorf("running node refused %s %s: %s (%s)", method, path, e.Message, e.Error)
	}
	switch o := out.(type) {
	case nil:
		return nil
	case io.Writer:
		_, err = io.Copy(o, resp.Body)
		return err
	default:
		return json.NewDecoder(resp.Body).Decode(out)
	}
}
