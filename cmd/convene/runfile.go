package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/multiformats/go-multiaddr"

	"github.com/convene/convene/internal/atomicfile"
	"github.com/convene/convene/web/apiv1"
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
	if err := atomicfile.WriteFile(filepath.Join(dir, runFileName), 0o600, b); err != nil {
		return fmt.Errorf("run file: %w", err)
	}
	return nil
}

func removeRunFile(dir string) { os.Remove(filepath.Join(dir, runFileName)) }

// errNotRunning: no node answers for this data directory.
var errNotRunning = errors.New("no running node")

// runningNode returns a client for the node running on dir, or
// errNotRunning.
func runningNode(ctx context.Context, dir string) (*apiv1.Client, error) {
	rf, err := readRunFile(dir)
	if err != nil {
		return nil, err
	}
	tok, err := os.ReadFile(filepath.Join(dir, "api-token"))
	if err != nil {
		return nil, errNotRunning
	}
	c := &apiv1.Client{Base: strings.TrimRight(rf.UI, "/"), Token: strings.TrimSpace(string(tok)), HTTP: newLocalClient()}
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := c.Status(pctx); err != nil {
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

// refused says that the running node refused or failed a request.
func refused(err error) error { return fmt.Errorf("running node refused %w", err) }

// listenFileName keeps the ports the node listened on, across runs (the run
// file goes at shutdown): a restart listens on them again when they are
// free, so that the addresses other laptops remember stay valid.
const listenFileName = "listen.json"

func saveListen(dir string, addrs []string) error {
	b, err := json.Marshal(addrs)
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, listenFileName), 0o600, b); err != nil {
		return fmt.Errorf("listen file: %w", err)
	}
	return nil
}

// previousListen turns the addresses of the last run into listen
// addresses on all interfaces with the same ports: one per IP family and
// transport (TCP, QUIC). None when there was no earlier run.
func previousListen(dir string) []multiaddr.Multiaddr {
	b, err := os.ReadFile(filepath.Join(dir, listenFileName))
	if err != nil {
		return nil
	}
	var addrs []string
	if json.Unmarshal(b, &addrs) != nil {
		return nil
	}
	seen := map[string]bool{}
	var out []multiaddr.Multiaddr
	for _, s := range addrs {
		a, err := multiaddr.NewMultiaddr(s)
		if err != nil {
			continue
		}
		var key string
		for _, fam := range []struct {
			code int
			any  string
		}{{multiaddr.P_IP4, "/ip4/0.0.0.0"}, {multiaddr.P_IP6, "/ip6/::"}} {
			if _, err := a.ValueForProtocol(fam.code); err != nil {
				continue
			}
			if p, err := a.ValueForProtocol(multiaddr.P_TCP); err == nil {
				key = fam.any + "/tcp/" + p
			} else if p, err := a.ValueForProtocol(multiaddr.P_UDP); err == nil {
				if _, err := a.ValueForProtocol(multiaddr.P_QUIC_V1); err == nil {
					key = fam.any + "/udp/" + p + "/quic-v1"
				}
			}
		}
		if key == "" || seen[key] {
			continue
		}
		seen[key] = true
		if m, err := multiaddr.NewMultiaddr(key); err == nil {
			out = append(out, m)
		}
	}
	return out
}
