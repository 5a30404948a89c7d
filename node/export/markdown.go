package export

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"

	"github.com/convene/convene/crdt"
)

// Markdown writes the documents of x's sessions, ready to print or
// publish: per session its title and prompt, the ranked proposals with
// their endorsing groups, conflicts, hidden proposals, the waiting list,
// and how fresh the results were. All user text is escaped so that it
// renders as the text it is, never as markup or HTML.
func Markdown(w io.Writer, x Export) error {
	bw := bufio.NewWriter(w)
	level := "#"
	if len(x.Sessions) != 1 {
		fmt.Fprintf(bw, "# %s\n\n", mdInline(orDefault(x.Name, "Gathering")))
		level = "##"
	}
	if len(x.Sessions) == 0 {
		bw.WriteString("No sessions.\n\n")
	}
	for _, se := range x.Sessions {
		x.markdownSession(bw, se, level)
	}
	bw.WriteString(freshnessLine(x))
	bw.WriteString("\n")
	return bw.Flush()
}

func (x *Export) markdownSession(w *bufio.Writer, se SessionExport, h string) {
	d := se.Document
	fmt.Fprintf(w, "%s %s\n\n", h, mdInline(d.Session.Title))
	if x.Name != "" && h == "#" {
		fmt.Fprintf(w, "*%s*\n\n", mdInline(x.Name))
	}
	if strings.TrimSpace(d.Session.Prompt) != "" {
		w.WriteString(mdBlock(d.Session.Prompt, "> "))
		w.WriteString("\n\n")
	}
	x.markdownAgenda(w, d.Session)
	state := "open"
	if !d.Session.Open {
		state = "closed"
	}
	var ranked, hidden []crdt.Proposal
	for _, p := range d.Proposals {
		if p.Hidden || p.Rank == 0 {
			hidden = append(hidden, p)
		} else {
			ranked = append(ranked, p)
		}
	}
	fmt.Fprintf(w, "Session %s; %d of at most %d proposals in the document.\n\n", state, len(ranked), d.Session.Cap)
	if r := se.Ratification; r != nil {
		fmt.Fprintf(w, "Ratified on %s by %s; digest `%s` (the ratified document: `convene export --format ratified`).\n\n",
			r.At.UTC().Format("2006-01-02 15:04 UTC"), mdInline(x.identityName(r.By)), r.Digest)
	}

	fmt.Fprintf(w, "%s# Proposals\n\n", h)
	if len(ranked) == 0 {
		w.WriteString("No proposals yet.\n\n")
	}
	for _, p := range ranked {
		p, note := x.inLang(p)
		fmt.Fprintf(w, "%d. %s\n", p.Rank, mdBlock(orHidden(p.Text), "   ")[3:])
		w.WriteString(note)
		fmt.Fprintf(w, "\n   %s", plural(p.Endorsements, "endorsement"))
		if len(p.EndorsedBy) > 0 {
			fmt.Fprintf(w, ": %s", mdInline(strings.Join(x.groupNames(p.EndorsedBy), "; ")))
		}
		fmt.Fprintf(w, ". Proposed by %s; %s.\n", mdInline(x.groupName(p.Group)), plural(p.Revisions, "revision"))
		if p.From != nil {
			fmt.Fprintf(w, "\n   %s.\n", provenance(p.From))
		}
		if p.Conflict {
			fmt.Fprintf(w, "\n   **In conflict:** %d concurrent versions; the one above is shown until an edit merges them.\n", len(p.Heads))
			for _, r := range otherHeads(se.Revisions[p.ID], p) {
				fmt.Fprintf(w, "\n   - Other version by %s: %s\n", mdInline(x.groupName(r.Group)), mdBlock(orHidden(r.Text), "     ")[5:])
			}
		}
		w.WriteString("\n")
	}
	if len(hidden) > 0 {
		fmt.Fprintf(w, "%s# Hidden\n\n", h)
		for _, p := range hidden {
			fmt.Fprintf(w, "- %s (proposal %s)\n", hiddenText, p.ID.String()[:8])
		}
		w.WriteString("\n")
	}
	if len(d.Waiting) > 0 {
		fmt.Fprintf(w, "%s# Waiting list\n\n", h)
		w.WriteString("These proposals arrived after the session was full, from sites that were offline. Groups can fold them into the document by editing a proposal.\n\n")
		for _, p := range d.Waiting {
			fmt.Fprintf(w, "- %s\n\n  Proposed by %s.\n\n", mdBlock(orHidden(p.Text), "  ")[2:], mdInline(x.groupName(p.Group)))
			if p.From != nil {
				fmt.Fprintf(w, "  %s.\n\n", provenance(p.From))
			}
		}
	}
}

// otherHeads are the heads of a conflicted proposal other than the one
// shown.
func otherHeads(revs []crdt.Revision, p crdt.Proposal) []crdt.Revision {
	var out []crdt.Revision
	for _, h := range p.Heads {
		if h == p.Revision {
			continue
		}
		for _, r := range revs {
			if r.ID == h {
				out = append(out, r)
			}
		}
	}
	return out
}

func freshnessLine(x Export) string {
	var b strings.Builder
	b.WriteString("---\n\n*Generated ")
	b.WriteString(x.Generated.UTC().Format("2006-01-02 15:04 UTC"))
	switch {
	case x.Freshness.Peers == 0 && x.Freshness.LastSync.IsZero():
		b.WriteString(" by a node that had not synced with any peer yet")
	default:
		fmt.Fprintf(&b, " by a node connected to %s", plural(x.Freshness.Peers, "peer"))
		if !x.Freshness.LastSync.IsZero() {
			fmt.Fprintf(&b, ", last synced %s", x.Freshness.LastSync.UTC().Format(time.RFC3339))
		}
	}
	b.WriteString(". Results are provisional until every site has synced.*\n")
	return b.String()
}

func orHidden(s string) string {
	if s == "" {
		return hiddenText
	}
	return s
}

func orDefault(s, d string) string {
	if strings.TrimSpace(s) == "" {
		return d
	}
	return s
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// mdInline escapes text for use inside one line of Markdown: the ASCII
// punctuation that can make markup anywhere in a line is backslash-escaped
// (CommonMark allows that for any ASCII punctuation), and line breaks and
// other control characters become spaces.
func mdInline(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\n' || r == '\r' || r == '\t':
			b.WriteByte(' ')
		case unicode.IsControl(r):
		case strings.ContainsRune("\\`*_[]<>#|~&", r):
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// mdLine is mdInline for text at the start of a line: it also keeps the
// line from starting a list, heading underline or quote.
func mdLine(s string) string {
	s = mdInline(strings.TrimSpace(s))
	if s == "" {
		return s
	}
	if strings.ContainsRune("-+=", rune(s[0])) {
		return "\\" + s
	}
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i > 0 && i < len(s) && (s[i] == '.' || s[i] == ')') {
		return s[:i] + "\\" + s[i:]
	}
	return s
}

// mdBlock escapes multi-line text, prefixing every line with indent. Lines
// end with a hard break and blank lines separate paragraphs, so the text
// keeps its shape without any line starting markup.
func mdBlock(s, indent string) string {
	lines := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	var b strings.Builder
	b.WriteString(indent)
	prevBlank, started := false, false
	for _, l := range lines {
		l = mdLine(l)
		if l == "" {
			prevBlank = started
			continue
		}
		switch {
		case prevBlank:
			b.WriteString("\n\n" + indent)
		case started:
			b.WriteString("\\\n" + indent)
		}
		b.WriteString(l)
		started, prevBlank = true, false
	}
	return b.String()
}
