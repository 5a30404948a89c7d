package export

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/convene/convene/crdt"
)

// CSVKind chooses which table CSV writes and how: a table name, then
// options after commas, as `--csv` and the `csv` parameter of GET
// /api/v1/export take it ("endorsements,raw,bom"). The options are
//
//   - raw: cells exactly as written; without it a cell that a spreadsheet
//     would run as a formula is defused (see defuse);
//   - bom: a UTF-8 byte order mark first, without which Excel reads the
//     file as the system's legacy code page and garbles accents.
//
// Options travel inside the kind so that every path that already carries
// the table (the CLI, a running node's HTTP API) carries them too.
type CSVKind string

const (
	// CSVProposals: one row per proposal, ranked ones in rank order, then
	// hidden ones, then the waiting list, session after session.
	CSVProposals CSVKind = "proposals"
	// CSVEndorsements: one row per counted endorsement (a group endorsing
	// the shown revision of a proposal).
	CSVEndorsements CSVKind = "endorsements"
)

// csvSpec is a CSVKind taken apart.
type csvSpec struct {
	table    CSVKind
	raw, bom bool
}

// ParseCSVKind reads a CSVKind ("" means CSVProposals) and returns it in
// its canonical form: the table first, then the options in a fixed order.
func ParseCSVKind(s string) (CSVKind, error) {
	sp, err := parseCSVSpec(s)
	if err != nil {
		return "", err
	}
	k := sp.table
	if sp.raw {
		k += ",raw"
	}
	if sp.bom {
		k += ",bom"
	}
	return k, nil
}

func parseCSVSpec(s string) (csvSpec, error) {
	sp := csvSpec{table: CSVProposals}
	if s == "" {
		return sp, nil
	}
	tables := 0
	for _, w := range strings.Split(s, ",") {
		switch w {
		case string(CSVProposals), string(CSVEndorsements):
			sp.table = CSVKind(w)
			tables++
		case "raw":
			sp.raw = true
		case "bom":
			sp.bom = true
		default:
			return csvSpec{}, fmt.Errorf("export: unknown CSV table or option %q in %q (proposals or endorsements, then raw or bom, comma-separated)", w, s)
		}
	}
	if tables > 1 {
		return csvSpec{}, fmt.Errorf("export: CSV %q names two tables", s)
	}
	return sp, nil
}

// utf8BOM opens a CSV written with the bom option.
const utf8BOM = "\uFEFF"

// defuse keeps a spreadsheet from running a cell as a formula (OWASP's
// CSV injection advice): a cell that starts with =, +, -, @, a tab or a
// carriage return gets a leading apostrophe, which spreadsheets show as
// text and hide. Any participant can write a proposal, and the organizer
// opens the export in a spreadsheet, so "=HYPERLINK(…)" must not become a
// live link there. Tools that want the text exactly use the raw option.
func defuse(cell string) string {
	if cell == "" {
		return cell
	}
	switch cell[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + cell
	}
	return cell
}

var (
	csvProposalHeader = []string{
		"session", "session_title", "status", "rank", "proposal", "revision",
		"group", "group_name", "endorsements", "endorsed_by", "conflict", "revisions", "text",
		"from_gathering", "from_session", "from_proposal", "from_revision", "from_digest",
	}
	csvEndorsementHeader = []string{
		"session", "session_title", "proposal", "rank", "revision", "group", "group_name",
	}
)

// CSV writes one table of x's sessions as RFC 4180 CSV (CRLF line ends, a
// header row), quoted where needed; a hidden proposal's text is empty and
// its status is "hidden". Status is "ranked", "hidden" or "waiting"; rank
// is 0 unless ranked. endorsed_by holds group names separated by "; ".
// Cells are defused against spreadsheet formulas unless kind has the raw
// option (see CSVKind).
func CSV(w io.Writer, x Export, kind CSVKind) error {
	sp, err := parseCSVSpec(string(kind))
	if err != nil {
		return err
	}
	if sp.bom {
		if _, err := io.WriteString(w, utf8BOM); err != nil {
			return fmt.Errorf("export csv: %w", err)
		}
	}
	cw := &cellWriter{w: csv.NewWriter(w), raw: sp.raw}
	cw.w.UseCRLF = true
	if sp.table == CSVEndorsements {
		err = x.csvEndorsements(cw)
	} else {
		err = x.csvProposals(cw)
	}
	if err != nil {
		return fmt.Errorf("export csv: %w", err)
	}
	cw.w.Flush()
	if err := cw.w.Error(); err != nil {
		return fmt.Errorf("export csv: %w", err)
	}
	return nil
}

// cellWriter writes rows, defusing every cell unless raw.
type cellWriter struct {
	w   *csv.Writer
	raw bool
}

func (c *cellWriter) Write(row []string) error {
	if c.raw {
		return c.w.Write(row)
	}
	out := make([]string, len(row)) // row may be a shared header
	for i, cell := range row {
		out[i] = defuse(cell)
	}
	return c.w.Write(out)
}

func (x *Export) csvProposals(cw *cellWriter) error {
	if err := cw.Write(csvProposalHeader); err != nil {
		return err
	}
	for _, se := range x.Sessions {
		s := se.Document.Session
		for _, p := range se.Document.Proposals {
			status := "ranked"
			if p.Hidden || p.Rank == 0 {
				status = "hidden"
			}
			err := cw.Write(append([]string{
				s.ID.String(), s.Title, status, strconv.Itoa(p.Rank), p.ID.String(), p.Revision.String(),
				p.Group.String(), x.groupName(p.Group), strconv.Itoa(p.Endorsements),
				strings.Join(x.groupNames(p.EndorsedBy), "; "), strconv.FormatBool(p.Conflict),
				strconv.Itoa(p.Revisions), p.Text,
			}, fromCells(p.From)...))
			if err != nil {
				return err
			}
		}
		for _, p := range se.Document.Waiting {
			err := cw.Write(append([]string{
				s.ID.String(), s.Title, "waiting", "0", p.ID.String(), p.Revision.String(),
				p.Group.String(), x.groupName(p.Group), "0", "", "false",
				strconv.Itoa(len(se.Revisions[p.ID])), p.Text,
			}, fromCells(p.From)...))
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// fromCells are the provenance columns of a proposal: empty unless imported.
func fromCells(f *crdt.Provenance) []string {
	if f == nil {
		return []string{"", "", "", "", ""}
	}
	digest := ""
	if !f.Digest.IsZero() {
		digest = f.Digest.String()
	}
	return []string{f.Gathering.String(), f.Session.String(), f.Proposal.String(), f.Revision.String(), digest}
}

func (x *Export) csvEndorsements(cw *cellWriter) error {
	if err := cw.Write(csvEndorsementHeader); err != nil {
		return err
	}
	for _, se := range x.Sessions {
		s := se.Document.Session
		for _, p := range se.Document.Proposals {
			for _, g := range p.EndorsedBy {
				err := cw.Write([]string{
					s.ID.String(), s.Title, p.ID.String(), strconv.Itoa(p.Rank), p.Revision.String(),
					g.String(), x.groupName(g),
				})
				if err != nil {
					return err
				}
			}
		}
	}
	return nil
}
