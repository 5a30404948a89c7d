package crdt

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
)

// Translations of proposals. A translation names the revision it
// translates; an edit of the proposal leaves it in place but stale, so a
// room never reads an old text as if it were the current one.

// Languages are the languages a gathering translates into. Gatherings do
// not carry a language list yet, so every gathering has the four languages
// of the UI; a translation into another language is kept in the set and
// counts for nothing.
var Languages = []string{"en", "es", "fr", "pt"}

// IsLanguage reports whether lang is one of the gathering's Languages.
func IsLanguage(lang string) bool { return slices.Contains(Languages, lang) }

// MaxTranslationsPerIdentity: translations one identity may make of one
// proposal (earliest by (clock, id) count, as for comments). Four languages
// times a dozen edits leaves room for honest work; a flood stops there.
const MaxTranslationsPerIdentity = 50

// TranslationBody is a group's translation of one revision of a proposal
// into Lang. From is the language of the text translated, when the
// translator names it ("" when not), so that a translated view can say what
// the original language is.
type TranslationBody struct {
	Proposal OpID   `json:"proposal"`
	Group    OpID   `json:"group"`
	Revision OpID   `json:"revision"`
	Lang     string `json:"lang"`
	From     string `json:"from,omitempty"`
	Text     string `json:"text"`
}

func (*TranslationBody) Kind() Kind { return KindTranslation }

// validate checks the shape only: whether Lang is one of the gathering's
// languages is the fold's and Check's question, so that a gathering with a
// language list of its own can one day accept more without a new kind.
func (b *TranslationBody) validate() error {
	if !IsLanguageTag(b.Lang) {
		return invalid("lang must be a language tag such as es")
	}
	if b.From != "" && !IsLanguageTag(b.From) {
		return invalid("from must be a language tag such as en")
	}
	if b.From == b.Lang {
		return invalid("a translation into the language it is translated from")
	}
	return checkText("text", b.Text, MaxText, false)
}

func (b *TranslationBody) encode(w *writer) {
	w.id(b.Proposal)
	w.id(b.Group)
	w.id(b.Revision)
	w.str(b.Lang)
	w.str(b.From)
	w.str(b.Text)
}

func (b *TranslationBody) decode(r *reader) {
	b.Proposal = r.id()
	b.Group = r.id()
	b.Revision = r.id()
	b.Lang = r.str(maxLanguage)
	b.From = r.str(maxLanguage)
	b.Text = r.str(MaxText)
}

// Translation is the translation a document shows for one language.
// Stale: it translates a revision other than the one shown now.
type Translation struct {
	ID       OpID   `json:"id"`
	Text     string `json:"text"`
	Group    OpID   `json:"group"`
	Revision OpID   `json:"revision"`
	From     string `json:"from"`
	Stale    bool   `json:"stale"`
}

// Translations maps a language to the translation shown in it. It is nil
// for most proposals (no map allocated); JSON shows nil as {}.
type Translations map[string]Translation

func (t Translations) MarshalJSON() ([]byte, error) {
	if len(t) == 0 {
		return []byte("{}"), nil
	}
	// Marshal the plain map: its keys come out sorted.
	var b bytes.Buffer
	err := json.NewEncoder(&b).Encode(map[string]Translation(t))
	return bytes.TrimRight(b.Bytes(), "\n"), err
}

// translations settles a valid proposal's translations (refreshProposal
// calls it with d filled in but for the translations). Per language it
// shows the latest counting translation of the shown head, or if there is
// none the latest counting translation of any valid revision (stale).
// Latest is by (clock, id), so two groups translating at once agree
// everywhere. A hidden translation, or one of a hidden revision, is
// passed over (a facilitator hides a bad one and the previous shows); a
// hidden proposal shows none.
func (s *State) translations(p *proposal, head *Op) Translations {
	if len(p.trans) == 0 || p.d.base.Hidden {
		return nil
	}
	type pick struct{ fresh, any *Op }
	var best map[string]*pick
	var per map[IdentityID]int
	for _, o := range p.trans {
		b := o.Body.(*TranslationBody)
		if !s.counts(o) || !IsLanguage(b.Lang) || !s.isScribe(b.Group, o.Author()) || !s.canAct(b.Group) {
			continue
		}
		// The limit counts every translation that otherwise counts,
		// hidden or not, of one identity in (clock, id) order.
		if per == nil {
			per = make(map[IdentityID]int)
		}
		if per[o.Author()]++; per[o.Author()] > MaxTranslationsPerIdentity {
			continue
		}
		i := findRev(p.d.validRevs, s.ops.get(b.Revision))
		if i < 0 || !p.d.validRevs[i].Clock.Less(o.Clock) || s.hidden(o.ID) || s.hidden(b.Revision) {
			continue
		}
		if best == nil {
			best = make(map[string]*pick)
		}
		bp := best[b.Lang]
		if bp == nil {
			bp = new(pick)
			best[b.Lang] = bp
		}
		// p.trans is sorted, so the last one seen is the latest.
		bp.any = o
		if b.Revision == head.ID {
			bp.fresh = o
		}
	}
	if len(best) == 0 {
		return nil
	}
	out := make(Translations, len(best))
	for lang, bp := range best {
		o := bp.fresh
		if o == nil {
			o = bp.any
		}
		b := o.Body.(*TranslationBody)
		out[lang] = Translation{ID: o.ID, Text: b.Text, Group: b.Group, Revision: b.Revision, From: b.From,
			Stale: b.Revision != head.ID}
	}
	return out
}

// checkTranslation is Check for a translation: the proposal is shown, the
// revision is one of its valid revisions (normally the current one; an
// older one is allowed, and shows as stale), the author acts for the
// group, which may act in a seated gathering, and the identity is within
// its limit. A closed session may still be translated: a translation
// changes nothing that was decided.
func (s *State) checkTranslation(author IdentityID, b *TranslationBody) error {
	if !IsLanguage(b.Lang) {
		return invalid("lang must be one of the gathering's languages: %v", Languages)
	}
	p, ok := s.validProposal(b.Proposal)
	if !ok {
		return fmt.Errorf("%w: proposal %s", ErrNotFound, b.Proposal)
	}
	if findRev(p.d.validRevs, s.ops.get(b.Revision)) < 0 {
		return fmt.Errorf("%w: revision %s of proposal %s", ErrNotFound, b.Revision, b.Proposal)
	}
	if err := s.checkScribe(b.Group, author); err != nil {
		return err
	}
	if err := s.checkSeated(b.Group); err != nil {
		return err
	}
	n := 0
	for _, o := range p.trans {
		if o.Author() == author && s.counts(o) {
			n++
		}
	}
	if n >= MaxTranslationsPerIdentity {
		return fmt.Errorf("%w: at most %d translations per identity of one proposal", ErrLimit, MaxTranslationsPerIdentity)
	}
	return nil
}

// In returns the document as a room reading lang sees it: each proposal
// with a fresh translation into lang shows that translation as its Text,
// with TextLang set and the original text in Original. A stale
// translation never replaces the text. d is not modified (its slices are
// the state's cache): the proposals are copied.
func (d Document) In(lang string) Document {
	ps := make([]Proposal, len(d.Proposals))
	copy(ps, d.Proposals)
	for i := range ps {
		p := &ps[i]
		if tr, ok := p.Translations[lang]; ok && !tr.Stale && !p.Hidden {
			p.Original, p.Text, p.TextLang = p.Text, tr.Text, lang
		}
	}
	d.Proposals = ps
	return d
}
