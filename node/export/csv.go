package export

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// CSVKind chooses which table CSV writes.
type CSVKind string

const (
	// CSVProposals: one row per proposal, ranked ones in rank order, then
	// hidden ones, then the waiting list, session after session.
	CSVProposals CSVKind = "proposals"
	// CSVEndorsements: one row per counted endorsement (a group endorsing
	// the shown revision of a proposal).
	CSVEndorsements CSVKind = "endorsements"
)

// ParseCSVKind reads a CSVKind from its name ("" means CSVProposals).
func ParseCSVKind(s string) (CSVKind, error) {
	switch CSVKind(s) {
	case "", CSVProposals:
		return CSVProposals, nil
	case CSVEndorsements:
		return CSVEndorsements, nil
	}
	return "", fmt.Errorf("export: unknown CSV table %q (proposals or endorsements)", s)
}

var (
	csvProposalHeader = []string{
		"session", "session_title", "status", "rank", "proposal", "revision",
		"group", "group_name", "endorsements", "endorsed_by", "conflict", "revisions", "text",
	}
	csvEndorsementHeader = []string{
		"session", "session_title", "proposal", "rank", "revision", "group", "group_name",
	}
)

// CSV writes one table of x's sessions as RFC 4180 CSV (CRLF line ends, a
// header row). Text is written as it is, quoted where needed; a hidden
// proposal's text is empty and its status is "hidden". Status is "ranked",
// "hidden" or "waiting"; rank is 0 unless ranked. endorsed_by holds group
// names separated by "; ".
//
// Cells are not altered to defuse spreadsheet formulas (a leading "="):
// the file is data, and a spreadsheet should import it as text.
func CSV(w io.Writer, x Export, kind CSVKind) error {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	var err error
	switch kind {
	case CSVProposals, "":
		err = x.csvProposals(cw)
	case CSVEndorsements:
		err = x.csvEndorsements(cw)
	default:
		return fmt.Errorf("export: unknown CSV table %q", kind)
	}
	if err != nil {
		return fmt.Errorf("export csv: %w", err)
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("export csv: %w", err)
	}
	return nil
}

func (x *Export) csvProposals(cw *csv.Writer) error {
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
			err := cw.Write([]string{
				s.ID.String(), s.Title, status, strconv.Itoa(p.Rank), p.ID.String(), p.Revision.String(),
				p.Group.String(), x.groupName(p.Group), strconv.Itoa(p.Endorsements),
				strings.Join(x.groupNames(p.EndorsedBy), "; "), strconv.FormatBool(p.Conflict),
				strconv.Itoa(p.Revisions), p.Text,
			})
			if err != nil {
				return err
			}
		}
		for _, p := range se.Document.Waiting {
			err := cw.Write([]string{
				s.ID.String(), s.Title, "waiting", "0", p.ID.String(), p.Revision.String(),
				p.Group.String(), x.groupName(p.Group), "0", "", "false",
				strconv.Itoa(len(se.Revisions[p.ID])), p.Text,
			})
			if err != nil {
				return err
			}
		}
	}
	return nil
}

func (x *Export) csvEndorsements(cw *csv.Writer) error {
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
