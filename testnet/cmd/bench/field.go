package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"
)

// fieldLimit bounds the lab run: its scenarios run in parallel, the
// longest (a laptop asleep for 5 minutes) takes about 6.
const fieldLimit = 15 * time.Minute

// fieldFigure is one scenario's figure, as testnet/lan writes it to
// $CONVENE_FIELD_FIGURES (see testnet/lan/fieldlab_linux_test.go).
type fieldFigure struct {
	Name    string  `json:"name"`
	Seconds float64 `json:"seconds"` // < 0: not converged
	Bytes   int64   `json:"bytes"`
	Note    string  `json:"note"`
}

// benchField runs the LAN lab's field scenarios — real `convene run`
// processes in network namespaces, links shaped by testnet/cmd/linkem —
// and reports the figure each prints. They need root; without it the
// section says so.
func benchField(ctx context.Context, l *lab, cfg config) section {
	sec := section{name: "field", title: "Field conditions"}
	if os.Geteuid() != 0 {
		sec.err = errors.New("skipped: the field scenarios run in network namespaces and need root (`sudo make bench`, or `sudo go run ./testnet/cmd/bench -only field`)")
		return sec
	}
	figs, out, err := runField(ctx, l)
	if err != nil {
		sec.err = err
		sec.misses = append(sec.misses, "The end of the lab's output:\n\n```\n"+tail(out, 40)+"\n```")
		if len(figs) == 0 {
			return sec
		}
	}
	by := map[string]fieldFigure{}
	for _, f := range figs {
		by[f.Name] = f
	}
	secs := func(f fieldFigure) string { return ms(time.Duration(f.Seconds * float64(time.Second))) }
	ratio := func(f fieldFigure, limit time.Duration) float64 {
		return f.Seconds * float64(time.Second) / float64(limit)
	}
	if f, ok := by["cities harsh"]; ok {
		r := row{budget: "field link", what: "two cities converge through a hub, each behind a 64 kbit/s, 300 ms, 30 %-loss link", limit: published, ratio: math.NaN()}
		if f.Seconds < 0 {
			r.value = notMeasured + "did not converge: " + f.Note
		} else {
			r.value, r.ratio = fmt.Sprintf("%s, %d B on the links", secs(f), f.Bytes), 0
		}
		sec.rows = append(sec.rows, r)
	}
	if f, ok := by["cities"]; ok {
		sec.rows = append(sec.rows, row{budget: "field link", what: "… and behind a 1 Mbit/s, 150 ms, 2 %-loss link",
			value: fmt.Sprintf("%s, %d B on the links", secs(f), f.Bytes), limit: published, ratio: 0})
	}
	if f, ok := by["split"]; ok {
		sec.rows = append(sec.rows, row{budget: "field split", what: "a 20-s split with writes on both sides (each side shown unreachable): converged, from the link's return",
			value: secs(f), limit: "≤ 2000 ms", ratio: ratio(f, 2*time.Second)})
	}
	if f, ok := by["hub first"]; ok {
		sec.rows = append(sec.rows, row{budget: "field hub", what: "first writes of 4 laptops under client isolation through a hub: converged, from the mesh forming",
			value: secs(f), limit: "≤ 2000 ms", ratio: ratio(f, 2*time.Second)})
	}
	if f, ok := by["crash"]; ok {
		sec.rows = append(sec.rows, row{budget: "field restart", what: "kill -9 and restart without mDNS or --peer: converged with the remembered peer, from exec",
			value: secs(f), limit: "≤ 2000 ms", ratio: ratio(f, 2*time.Second)})
	}
	if f, ok := by["clock"]; ok {
		// As unskewed: the right laptop's write, measured the same way
		// (API polling included), or the latency budget if that is more.
		limit := 50 * time.Millisecond
		if r, ok := by["clock right"]; ok {
			limit = max(limit, time.Duration(r.Seconds*float64(time.Second)))
		}
		sec.rows = append(sec.rows, row{budget: "field clock", what: "the slower write of laptops 1 h ahead and 1 h behind to reach the two others, against the right laptop's (or 50 ms)",
			value: secs(f), limit: "≤ " + ms(limit), ratio: ratio(f, limit)})
	}
	sec.details = append(sec.details,
		"`go test -run 'LAN(Field|ShortSplit)' ./testnet/lan/` as root: real `convene run` and `convene relay` processes in network namespaces on bridges; inter-city links through `testnet/cmd/linkem` (package `testnet/link`: bandwidth, delay, jitter, loss; a lost TCP segment arrives one retransmission timeout late) in a namespace between two bridges; the figures are in the table below.")
	var table strings.Builder
	table.WriteString("| scenario | time | bytes | what |\n|---|---|---|---|\n")
	for _, f := range figs {
		t := secs(f)
		if f.Seconds < 0 {
			t = "not converged"
		}
		b := "–"
		if f.Bytes > 0 {
			b = fmt.Sprintf("%d B", f.Bytes)
		}
		fmt.Fprintf(&table, "| %s | %s | %s | %s |\n", f.Name, t, b, cell(f.Note))
	}
	sec.growth = append(sec.growth, "Each scenario of the lab, in one run:\n\n"+table.String())
	return sec
}

// runField runs the lab and reads the figures its scenarios wrote.
func runField(ctx context.Context, l *lab) ([]fieldFigure, string, error) {
	file := l.dir("field") + ".jsonl"
	ctx, cancel := context.WithTimeout(ctx, fieldLimit)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "test", "-count=1", "-v", "-timeout", fieldLimit.String(),
		"-run", "LAN(Field|ShortSplit)", "./testnet/lan/")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "CONVENE_BIN="+l.bin, "CONVENE_FIELD_FIGURES="+file)
	out, runErr := cmd.CombinedOutput()
	var figs []fieldFigure
	if b, err := os.ReadFile(file); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			var f fieldFigure
			if err := json.Unmarshal(sc.Bytes(), &f); err != nil {
				return figs, string(out), fmt.Errorf("%s: %w", file, err)
			}
			figs = append(figs, f)
		}
	}
	order := []string{"cities", "cities harsh", "split", "hub first", "crash", "hub restart", "sleep", "first second", "clock", "clock right"}
	slices.SortStableFunc(figs, func(a, b fieldFigure) int {
		return slices.Index(order, a.Name) - slices.Index(order, b.Name)
	})
	if runErr != nil {
		return figs, string(out), fmt.Errorf("the lab failed (%v): the figures below are those of the scenarios that passed", runErr)
	}
	if len(figs) == 0 {
		return nil, string(out), errors.New("the lab ran but wrote no figure (were its tests skipped?)")
	}
	return figs, string(out), nil
}

// tail is the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
