package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestWriteReportBudgetTable(t *testing.T) {
	measured := func(name string) section {
		s := section{name: name, title: name}
		for _, id := range benchmarkBudget[name] {
			s.rows = append(s.rows, row{budget: id, what: id + " figure", value: "1 ms", limit: "≤ 2 ms", ratio: 0.5})
		}
		return s
	}
	tests := []struct {
		name string
		secs []section
		want []string // in the table, besides a row for every budget item
	}{
		{name: "every benchmark", secs: []section{measured("ingest"), measured("heal"), measured("latency"), measured("startup"), measured("join")},
			want: []string{"| hub | ", notMeasured + "not run (`-only`)"}},
		{name: "-only ingest", secs: []section{measured("ingest")},
			want: []string{"| join sync | ", notMeasured + "not run (`-only`)"}},
		{name: "a benchmark failed", secs: []section{{name: "join", title: "join", err: errors.New("source did not start")}},
			want: []string{"| join documents | ", notMeasured + "source did not start"}},
		{name: "nothing run", secs: nil, want: []string{"| ingest | "}},
		{name: "a published figure has no ratio",
			secs: []section{{name: "hub", title: "hub", rows: []row{{budget: "hub", what: "one relay", value: "9 MB", limit: published, ratio: 0}}}},
			want: []string{"| hub | one relay | 9 MB | published | – | published |"}},
		{name: "a published row of an item with a limit is context, not its figure",
			secs: []section{{name: "latency", title: "latency", rows: []row{{budget: "latency", what: "50 processes", value: "1911 ms", limit: published, ratio: 0}}}},
			want: []string{"| latency | 50 processes | 1911 ms | published | – | published |", "| latency | " + budgetDesign("latency") + " | " + notMeasured + "not run (`-only`)"}},
		{name: "the figure failed beside its context",
			secs: []section{
				{name: "simlatency", title: "simlatency", err: errors.New("the meshes did not form")},
				{name: "latency", title: "latency", rows: []row{{budget: "latency", what: "50 processes", value: "1911 ms", limit: published, ratio: 0}}},
			},
			want: []string{"| latency | 50 processes | ", notMeasured + "the meshes did not form"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "BENCHMARKS.md")
			if err := os.WriteFile(file, []byte("old\n\n"+analysisHeading+"\n\nkept by hand\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := writeReport(file, machine{date: time.Unix(0, 0)}, "", tt.secs); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if err := checkBudget(b); err != nil {
				t.Errorf("written report fails its own check: %v", err)
			}
			for _, w := range append(tt.want, "kept by hand") {
				if !strings.Contains(string(b), w) {
					t.Errorf("report lacks %q:\n%s", w, b)
				}
			}
		})
	}
}

func TestCheckBudgetRefuses(t *testing.T) {
	full := func() []string {
		lines := []string{"# Benchmarks", "", budgetHeading, "", "| budget | figure | measured | limit | ratio | |", "|---|---|---|---|---|---|"}
		for _, it := range budget {
			lines = append(lines, "| "+it.id+" | f | 3 ms | ≤ 4 ms | 0.75 | ✓ |")
		}
		return append(lines, "", "## Analysis", "")
	}
	tests := []struct {
		name string
		edit func([]string) []string
		ok   bool
	}{
		{name: "complete", edit: func(l []string) []string { return l }, ok: true},
		{name: "no heading", edit: func(l []string) []string { l[2] = "## Budget"; return l }},
		{name: "no table", edit: func(l []string) []string { return append(l[:4:4], "## Analysis") }},
		{name: "a row missing", edit: func(l []string) []string { return append(l[:6:6], l[7:]...) }},
		{name: "empty figure", edit: func(l []string) []string { l[6] = "| ingest | f |  | ≤ 1 | – | ✗ |"; return l }},
		{name: "not measured without why", edit: func(l []string) []string { l[6] = "| ingest | f | not measured: | | – | ✗ |"; return l }},
		{name: "not measured with why", edit: func(l []string) []string { l[6] = "| ingest | f | not measured: no machine | | – | ✗ |"; return l }, ok: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkBudget([]byte(strings.Join(tt.edit(full()), "\n")))
			if tt.ok && err != nil {
				t.Errorf("refused: %v", err)
			}
			if !tt.ok && !errors.Is(err, errNoBudget) {
				t.Errorf("accepted (err %v)", err)
			}
		})
	}
}

func budgetDesign(id string) string {
	for _, it := range budget {
		if it.id == id {
			return it.design
		}
	}
	return ""
}
