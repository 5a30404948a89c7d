package export

import (
	"bufio"
	"fmt"
	"slices"
	"strings"

	"github.com/convene/convene/crdt"
)

// The Markdown export's agenda and languages. One file per language: `--lang
// es` writes the document as a Spanish-speaking room reads it (fresh
// Spanish translations in place of the texts, each with its original), so
// a gathering publishes one file per language it works in. The labels stay
// English, as in the rest of the export.

// langNames names the gathering's languages in the export's labels.
var langNames = map[string]string{"en": "English", "es": "Spanish", "fr": "French", "pt": "Portuguese"}

func langName(l string) string {
	if n, ok := langNames[l]; ok {
		return n
	}
	return mdInline(l)
}

// markdownAgenda writes the session's agenda, if it has one, and the
// language the export is in.
func (x *Export) markdownAgenda(w *bufio.Writer, s crdt.Session) {
	if x.Lang != "" {
		fmt.Fprintf(w, "*In %s: each proposal shows its %s translation where an up-to-date one exists, followed by the original.*\n\n", langName(x.Lang), langName(x.Lang))
	}
	if len(s.Agenda) == 0 {
		return
	}
	total := 0
	for _, st := range s.Agenda {
		total += st.Minutes
	}
	fmt.Fprintf(w, "Agenda (%d min):\n\n", total)
	for i, st := range s.Agenda {
		fmt.Fprintf(w, "%d. %s: %d min\n", i+1, mdInline(st.Title), st.Minutes)
	}
	w.WriteString("\n")
}

// inLang is how a ranked proposal reads in x.Lang: with a fresh
// translation, the translation as its text and a note carrying the
// original; otherwise the original, with a note saying why. Without a
// language, the note lists the translations there are.
func (x *Export) inLang(p crdt.Proposal) (crdt.Proposal, string) {
	if p.Hidden {
		return p, ""
	}
	if x.Lang == "" {
		if len(p.Translations) == 0 {
			return p, ""
		}
		langs := make([]string, 0, len(p.Translations))
		for l := range p.Translations {
			langs = append(langs, l)
		}
		slices.Sort(langs)
		for i, l := range langs {
			langs[i] = langName(l)
			if p.Translations[l].Stale {
				langs[i] += " (out of date)"
			}
		}
		return p, fmt.Sprintf("\n   Translated into %s.\n", strings.Join(langs, ", "))
	}
	tr, ok := p.Translations[x.Lang]
	switch {
	case !ok:
		return p, fmt.Sprintf("\n   *Not translated into %s.*\n", langName(x.Lang))
	case tr.Stale:
		return p, fmt.Sprintf("\n   *The %s translation is of an earlier revision; the current text is shown.*\n", langName(x.Lang))
	}
	from := ""
	if tr.From != "" {
		from = " from " + langName(tr.From)
	}
	note := fmt.Sprintf("\n   *Translated%s by %s. Original:* %s\n", from, mdInline(x.groupName(tr.Group)), mdBlock(p.Text, "   ")[3:])
	p.Text = tr.Text
	return p, note
}
