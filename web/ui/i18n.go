package ui

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"slices"
	"strings"

	"golang.org/x/text/language"
)

// langCookie remembers the language a person chose with the switch.
const langCookie = "lang"

// catalog is one language's messages.
type catalog struct {
	lang string
	msgs map[string]string
}

// text returns the message for key; a missing key shows as itself so that
// the gap is visible rather than blank (the tests keep the catalogs whole).
func (c *catalog) text(key string) string {
	if m, ok := c.msgs[key]; ok {
		return m
	}
	return key
}

type catalogs struct {
	langs   []string // in matcher order; the first is the fallback
	byLang  map[string]*catalog
	matcher language.Matcher
}

// supported are the UI's languages; English is the fallback.
var supported = []string{"en", "es", "fr", "pt"}

func loadCatalogs(fsys fs.FS) (*catalogs, error) {
	cs := &catalogs{langs: supported, byLang: make(map[string]*catalog)}
	tags := make([]language.Tag, 0, len(supported))
	for _, lang := range supported {
		b, err := fs.ReadFile(fsys, "i18n/"+lang+".json")
		if err != nil {
			return nil, fmt.Errorf("ui: catalog %s: %w", lang, err)
		}
		c := &catalog{lang: lang}
		if err := json.Unmarshal(b, &c.msgs); err != nil {
			return nil, fmt.Errorf("ui: catalog %s: %w", lang, err)
		}
		cs.byLang[lang] = c
		tags = append(tags, language.MustParse(lang))
	}
	cs.matcher = language.NewMatcher(tags)
	return cs, nil
}

// choose picks the page's language: an explicit ?lang= (the switch, which is
// then remembered in a cookie), the cookie, or the browser's Accept-Language.
func (cs *catalogs) choose(w http.ResponseWriter, r *http.Request) string {
	if l := r.URL.Query().Get("lang"); slices.Contains(cs.langs, l) {
		http.SetCookie(w, &http.Cookie{
			Name: langCookie, Value: l, Path: "/", MaxAge: 365 * 24 * 3600,
			SameSite: http.SameSiteLaxMode, HttpOnly: true,
		})
		return l
	}
	if c, err := r.Cookie(langCookie); err == nil && slices.Contains(cs.langs, c.Value) {
		return c.Value
	}
	return cs.match(r.Header.Get("Accept-Language"))
}

// match maps an Accept-Language header to a supported language.
func (cs *catalogs) match(accept string) string {
	tags, _, err := language.ParseAcceptLanguage(strings.TrimSpace(accept))
	if err != nil || len(tags) == 0 {
		return cs.langs[0]
	}
	_, idx, conf := cs.matcher.Match(tags...)
	if conf == language.No {
		return cs.langs[0]
	}
	return cs.langs[idx]
}
