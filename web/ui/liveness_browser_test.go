package ui

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// A page whose node is killed says so within 5 s, and recovers when the
// node runs again on the same address.
func TestBrowserNodeGone(t *testing.T) {
	if os.Getenv("CONVENE_UI_URL") != "" {
		t.Skip("kills the node it runs against")
	}
	chromium := findChromium(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	dir := t.TempDir()
	ui := []string{"--ui", addr} // a later flag wins over startNodeIn's
	b := &browserTest{t: t}
	b.url, _, b.token = startNodeIn(t, dir, ui...)
	b.browser = sharedBrowser(t, chromium)

	tab := b.tab()
	b.do(tab, chromedp.Navigate(b.url+"/network"))
	b.waitJS(tab, `document.getElementById('node-banner') && document.getElementById('node-gone').hidden`)

	raw, err := os.ReadFile(filepath.Join(dir, "run.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rf struct {
		PID int `json:"pid"`
	}
	if err := json.Unmarshal(raw, &rf); err != nil || rf.PID <= 0 {
		t.Fatalf("run.json %s: %v", raw, err)
	}
	proc, err := os.FindProcess(rf.PID)
	if err != nil {
		t.Fatal(err)
	}
	if err := proc.Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	b.waitJS(tab, `!document.getElementById('node-gone').hidden && !document.getElementById('node-banner').hidden`)
	took := time.Since(killed)
	t.Logf("the page said the node was gone %v after kill -9", took.Round(10*time.Millisecond))
	if took > 5*time.Second {
		t.Errorf("the page took %v to notice its node was gone; want ≤ 5 s", took)
	}

	startNodeIn(t, dir, ui...)
	b.waitJS(tab, `document.getElementById('node-gone').hidden && document.getElementById('node-banner').hidden`)
}

// Three laptops of one gathering, one with its clock an hour ahead: its
// page warns that its clock is ahead of the room; a right laptop's page
// does not.
func TestBrowserClockWarning(t *testing.T) {
	if os.Getenv("CONVENE_UI_URL") != "" {
		t.Skip("needs nodes of its own")
	}
	chromium := findChromium(t)
	bin := convenebinary(t)
	dirA, dirB := twoLaptops(t, bin, "Wrong clock")
	out, err := runCLI(bin, "invite", "--data", dirA)
	if err != nil {
		t.Fatalf("invite: %v\n%s", err, out)
	}
	invite := "" // the output has a note besides, on stderr
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "convene:") {
			invite = strings.TrimSpace(l)
		}
	}
	dirC := t.TempDir()
	if out, err := runCLI(bin, "join", "--data", dirC, "--identity", "Cy", invite); err != nil {
		t.Fatalf("join: %v\n%s", err, out)
	}
	loopback := func(b *browserTest) string {
		t.Helper()
		st := b.apiCall("GET", "/status", nil)
		for _, x := range st["addrs"].([]any) {
			if s := x.(string); strings.HasPrefix(s, "/ip4/127.0.0.1/tcp/") {
				return s
			}
		}
		t.Fatalf("no loopback TCP address: %v", st["addrs"])
		return ""
	}
	a, b, c := &browserTest{t: t}, &browserTest{t: t}, &browserTest{t: t}
	a.url, _, a.token = startNodeIn(t, dirA)
	c.url, _, c.token = startNodeIn(t, dirC, "--peer", loopback(a))
	// b meets both right laptops: the room's time is their median.
	b.url, _, b.token = startNodeEnv(t, dirB, []string{"CONVENE_CLOCK_SKEW=1h"}, "--peer", loopback(a), "--peer", loopback(c))
	a.browser = sharedBrowser(t, chromium)
	b.browser = a.browser

	tab := b.tab()
	b.do(tab, chromedp.Navigate(b.url+"/network"))
	b.waitJS(tab, `!document.getElementById('node-banner').hidden && !document.getElementById('node-clock').hidden && document.getElementById('node-clock').textContent.includes('ahead of the room')`)
	t.Logf("the skewed laptop's page says: %s", eval[string](b, tab, `document.getElementById('node-clock').textContent`))

	right := a.tab()
	a.do(right, chromedp.Navigate(a.url+"/network"))
	a.waitJS(right, `document.getElementById('node-banner') !== null`)
	if st := a.apiCall("GET", "/status", nil)["clock"].(map[string]any); st["warning"] == true {
		t.Fatalf("the right laptop's node warns: %v", st)
	}
	if !eval[bool](a, right, `document.getElementById('node-clock').hidden`) {
		t.Errorf("the right laptop's page shows a clock warning: %s", eval[string](a, right, `document.getElementById('node-clock').textContent`))
	}
}
