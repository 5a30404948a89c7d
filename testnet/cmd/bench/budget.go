package main

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
)

// budgetItem is one figure of DESIGN.md's "Performance budget". Every one
// has at least one row in the report's budget table, measured or saying
// why not, so that a figure nobody measures is visible rather than gone.
type budgetItem struct {
	id     string // the first cell of its rows
	design string // what DESIGN.md asks, for the rows of a figure not measured
	// why, when no benchmark measures it yet.
	why string
	// published: the budget asks only that the figure be published, so
	// a row published for it measures it; for any other item such a row
	// is context (the 50-process latency), not the figure.
	published bool
}

// budget lists DESIGN.md's "Performance budget" in its order; keep the two
// in step.
var budget = []budgetItem{
	{id: "ingest", design: "verified-operation ingest ≥ 1.5 × the single ed25519 verify rate"},
	{id: "heal time", design: "50 nodes converge after a partition heals in ≤ 2 s of simulated time"},
	{id: "heal CPU", design: "heal in real time within 1.5 × the CPU work of verifying and applying what each node lacks"},
	{id: "heal bytes", design: "heal exchanging ≤ 1.25 × the compressed missing operations + 64 B per difference"},
	{id: "latency", design: "a change reaches every other laptop's UI in ≤ 50 ms at p99, with 50 laptops"},
	{id: "startup time", design: "a node holding 1,000,000 operations starts and serves its UI in ≤ 1 s"},
	{id: "startup memory", design: "… within 200 MB of memory"},
	{id: "join documents", design: "a new laptop joining 100,000 operations shows the current documents in ≤ 3 s"},
	{id: "join sync", design: "… and is fully synced in ≤ 8 s"},
	{id: "hub", design: "a hub serving 100 gatherings and 500 laptops: memory, CPU and bytes published", published: true},
	{id: "field link", design: "convergence over a 64 kbit/s, 30 %-loss, 300 ms link", published: true},
	{id: "field restart", design: "convergence after a restart on new ports without mDNS"},
	{id: "field clock", design: "convergence with a laptop's clock 1 h off"},
}

// budgetHeading starts the budget table.
const budgetHeading = "## The budget"

// notMeasured starts the measured cell of a row with no figure; a reason
// must follow it.
const notMeasured = "not measured: "

// unmeasuredRows are the rows for the budget items no section measured:
// not run (-only), failed before any row, or with no benchmark yet. A row
// published for context measures only an item the budget asks only to be
// published.
func unmeasuredRows(secs []section) []row {
	have := map[string]bool{}
	for _, s := range secs {
		for _, r := range s.rows {
			if r.limit != published || budgetPublished(r.budget) {
				have[r.budget] = true
			}
		}
	}
	ran := map[string]error{} // budget id → the error of a section that ran and failed
	for _, s := range secs {
		if s.err != nil {
			for _, id := range benchmarkBudget[s.name] {
				ran[id] = s.err
			}
		}
	}
	var rows []row
	for _, it := range budget {
		if have[it.id] {
			continue
		}
		why := it.why
		switch err, failed := ran[it.id]; {
		case failed:
			why = err.Error()
		case why == "":
			why = "not run (`-only`)"
		}
		rows = append(rows, row{budget: it.id, what: it.design, value: notMeasured + why, ratio: math.NaN()})
	}
	return rows
}

// budgetPublished says whether the budget asks only that item id be
// published.
func budgetPublished(id string) bool {
	i := slices.IndexFunc(budget, func(it budgetItem) bool { return it.id == id })
	return i >= 0 && budget[i].published
}

// budgetRows are the budget table's rows: every section's, then a row for
// each item none measured, in DESIGN.md's order.
func budgetRows(secs []section) []row {
	var rows []row
	for _, s := range secs {
		rows = append(rows, s.rows...)
	}
	rows = append(rows, unmeasuredRows(secs)...)
	order := func(r row) int {
		return slices.IndexFunc(budget, func(it budgetItem) bool { return it.id == r.budget })
	}
	slices.SortStableFunc(rows, func(a, b row) int { return order(a) - order(b) })
	return rows
}

// benchmarkBudget is which budget items each benchmark measures.
var benchmarkBudget = map[string][]string{
	"ingest":     {"ingest"},
	"heal":       {"heal CPU", "heal bytes"},
	"simheal":    {"heal time", "heal bytes"},
	"simlatency": {"latency"},
	"latency":    {"latency"},
	"startup":    {"startup time", "startup memory"},
	"join":       {"join documents", "join sync"},
	"hub":        {"hub"},
	"field":      {"field link", "field restart", "field clock"},
}

var errNoBudget = errors.New("the report has no complete budget table")

// checkBudget refuses a report without the budget table or with a budget
// item missing from it, or a row that neither measures nor says why not:
// BENCHMARKS.md once lost its tables unnoticed.
func checkBudget(report []byte) error {
	_, table, ok := bytes.Cut(report, []byte("\n"+budgetHeading+"\n"))
	if !ok {
		return fmt.Errorf("%w: no %q heading", errNoBudget, budgetHeading)
	}
	seen := map[string]bool{}
	inTable := false
	for line := range strings.SplitSeq(string(table), "\n") {
		if !strings.HasPrefix(line, "|") {
			if inTable {
				break
			}
			continue
		}
		inTable = true
		cells := strings.Split(strings.Trim(line, "|"), " | ")
		if len(cells) < 3 {
			continue
		}
		id, value := strings.TrimSpace(cells[0]), strings.TrimSpace(cells[2])
		if value == "" || value == strings.TrimSpace(notMeasured) {
			return fmt.Errorf("%w: row %q neither measures nor says why not", errNoBudget, id)
		}
		seen[id] = true
	}
	var missing []string
	for _, it := range budget {
		if !seen[it.id] {
			missing = append(missing, it.id)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: no row for %s", errNoBudget, strings.Join(missing, ", "))
	}
	return nil
}
