package main

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/convene/convene/internal/atomicfile"
)

// section is the outcome of one benchmark: its rows in the budget table,
// how it was measured, and for a miss what the profile says.
type section struct {
	name    string // for -only
	title   string
	rows    []row
	details []string // how it was measured, extra figures
	growth  []string // paragraphs with a Markdown table each: how cost grows with size
	misses  []string // paragraphs: where the time or bytes go
	err     error    // the benchmark could not run
}

// row is one figure of the budget.
type row struct {
	budget string // the budgetItem's id
	what   string
	value  string
	limit  string
	ratio  float64 // ≤ 1 is within budget; NaN: not measured
}

// published is the limit of a figure the budget asks only to be published:
// it has no ratio, only its measured value.
const published = "published"

func (s *section) missed() bool {
	for _, r := range s.rows {
		if !(r.ratio <= 1) {
			return true
		}
	}
	return false
}

// addProfile adds a profile's hot spots to the notes on a miss.
func (s *section) addProfile(what, top string, err error) {
	if err != nil {
		s.misses = append(s.misses, fmt.Sprintf("%s: could not profile: %v", what, err))
		return
	}
	s.misses = append(s.misses, fmt.Sprintf("%s (`go tool pprof -top`, by flat time, then by cumulative time):\n\n```\n%s\n```", what, top))
}

// hotSpots runs fn under the CPU profiler and returns the top of
// `go tool pprof -top`.
func hotSpots(fn func() error) (string, error) {
	f, err := os.CreateTemp("", "convene-bench-*.pprof")
	if err != nil {
		return "", err
	}
	defer os.Remove(f.Name())
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return "", err
	}
	ferr := fn()
	pprof.StopCPUProfile()
	f.Close()
	if ferr != nil {
		return "", ferr
	}
	return pprofTop(f.Name())
}

// pprofTop is the head of `go tool pprof -top` of a CPU profile file.
func pprofTop(file string, args ...string) (string, error) {
	flat, err := pprofRun(file, append([]string{"-nodecount=14"}, args...))
	if err != nil {
		return "", err
	}
	cum, err := pprofRun(file, append([]string{"-cum", "-nodecount=24"}, args...))
	if err != nil {
		return "", err
	}
	return flat + "\n\nby cumulative:\n" + cum, nil
}

func pprofRun(file string, args []string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", append(append([]string{"tool", "pprof", "-top"}, args...), file)...).Output()
	if err != nil {
		return "", fmt.Errorf("go tool pprof: %w", err)
	}
	// Keep the summary lines and the table, not the header about the file.
	var keep []string
	table := false
	for line := range strings.SplitSeq(strings.TrimRight(string(out), "\n"), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "flat") {
			table = true
		}
		if table || strings.HasPrefix(line, "Duration") {
			keep = append(keep, line)
		}
	}
	return strings.Join(keep, "\n"), nil
}

// machine describes where the benchmarks ran.
type machine struct {
	cpu, mem, goVersion, os string
	cores                   int
	loadBefore, loadAfter   string
	date                    time.Time
}

func describeMachine() machine {
	m := machine{cores: runtime.NumCPU(), goVersion: runtime.Version(), date: time.Now().UTC(), loadBefore: loadAvg()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				var kb int64
				fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), &kb)
				m.mem = fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
			}
		}
	}
	m.os = runtime.GOOS + "/" + runtime.GOARCH
	if b, err := os.ReadFile("/etc/os-release"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "PRETTY_NAME="); ok {
				m.os = strings.Trim(v, `"`) + ", " + m.os
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.os += ", Linux " + strings.TrimSpace(string(b))
	}
	return m
}

// loadAvg is the 1, 5 and 15 minute load averages.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], ", ")
}

// analysisHeading starts the hand-written part of BENCHMARKS.md, which a
// new run keeps.
const analysisHeading = "## Analysis"

// writeReport writes the report to file, keeping the hand-written analysis
// of the file it replaces.
func writeReport(file string, m machine, args string, secs []section) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Benchmarks\n\n")
	fmt.Fprintf(&b, "The performance budget of DESIGN.md, measured by `make bench` (`go run ./testnet/cmd/bench%s`), which writes this file.\n", args)
	fmt.Fprintf(&b, "Everything above \"%s\" is generated; that section is written by hand and kept across runs.\n\n", analysisHeading)
	fmt.Fprintf(&b, "## Machine\n\n")
	fmt.Fprintf(&b, "| | |\n|---|---|\n")
	fmt.Fprintf(&b, "| date | %s |\n", m.date.Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "| CPU | %s |\n", m.cpu)
	fmt.Fprintf(&b, "| cores | %d |\n", m.cores)
	fmt.Fprintf(&b, "| memory | %s |\n", m.mem)
	fmt.Fprintf(&b, "| Go | %s |\n", m.goVersion)
	fmt.Fprintf(&b, "| OS | %s |\n", m.os)
	fmt.Fprintf(&b, "| load average (1, 5, 15 min) | %s at the start, %s at the end |\n\n", m.loadBefore, m.loadAfter)
	fmt.Fprintf(&b, "The machine is shared: a load average above its core count means other work competed for the CPU, and every timing here is then pessimistic.\n\n")

	fmt.Fprintf(&b, "%s\n\n", budgetHeading)
	fmt.Fprintf(&b, "The ratio column reads \"≤ 1 is within budget\": figure ÷ limit for times, bytes and memory; limit ÷ figure for the ingest ratio, whose limit is a floor.\n\n")
	fmt.Fprintf(&b, "| budget | figure | measured | limit | ratio | |\n|---|---|---|---|---|---|\n")
	for _, r := range budgetRows(secs) {
		mark, ratio := "✓", fmt.Sprintf("%.2f", r.ratio)
		switch {
		case r.limit == published && !math.IsNaN(r.ratio):
			mark, ratio = "published", "–"
		case r.ratio > 1e6:
			mark, ratio = "✗ miss", "∞"
		case math.IsNaN(r.ratio):
			mark, ratio = "✗", "–"
		case r.ratio > 1:
			mark = "✗ miss"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", r.budget, cell(r.what), cell(r.value), r.limit, ratio, mark)
	}
	b.WriteString("\n")
	for _, s := range secs {
		fmt.Fprintf(&b, "## %s (`-only %s`)\n\n", s.title, s.name)
		if s.err != nil {
			fmt.Fprintf(&b, "**Not measured:** %s\n\n", s.err)
		}
		for _, d := range s.details {
			fmt.Fprintf(&b, "- %s\n", d)
		}
		if len(s.details) > 0 {
			b.WriteString("\n")
		}
		if len(s.growth) > 0 {
			fmt.Fprintf(&b, "### How it grows\n\n")
			for _, p := range s.growth {
				fmt.Fprintf(&b, "%s\n", p)
			}
		}
		if len(s.misses) > 0 {
			fmt.Fprintf(&b, "### Where it goes\n\n")
			for _, p := range s.misses {
				fmt.Fprintf(&b, "%s\n\n", p)
			}
		}
	}
	if err := checkBudget(b.Bytes()); err != nil {
		return err
	}
	if file == "" {
		_, err := os.Stdout.Write(b.Bytes())
		return err
	}
	old, err := os.ReadFile(file)
	if err == nil {
		if i := bytes.Index(old, []byte("\n"+analysisHeading+"\n")); i >= 0 {
			b.Write(old[i+1:])
		}
	}
	if !bytes.Contains(b.Bytes(), []byte("\n"+analysisHeading+"\n")) {
		fmt.Fprintf(&b, "%s\n\n(None yet: read the figures and the profiles above and write here why a figure misses and what would close it.)\n", analysisHeading)
	}
	return atomicfile.WriteFile(filepath.Clean(file), 0o644, b.Bytes())
}

// cell makes text safe inside a table cell.
func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
}

func mb(n int64) string {
	return fmt.Sprintf("%.1f MB", float64(n)/1e6)
}
