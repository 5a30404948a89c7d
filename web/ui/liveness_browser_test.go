package ui

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
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
