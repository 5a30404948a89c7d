package apiv1

import (
	"context"
	"net/url"

	"github.com/convene/convene/crdt"
)

// Translations and the agenda (docs/API.md).

type (
	Step        = crdt.Step
	Phase       = crdt.Phase
	Translation = crdt.Translation
)

// Translate is POST /proposals/{pid}/translations. Revision names the
// revision translated; omitted, the one shown now. From is the language
// translated from, if the translator names it.
type Translate struct {
	Group    crdt.OpID        `json:"group"`
	Lang     string           `json:"lang"`
	From     string           `json:"from,omitempty"`
	Text     string           `json:"text"`
	Revision *crdt.OpID       `json:"revision,omitempty"`
	As       *crdt.IdentityID `json:"as,omitempty"`
}

// TranslationCreated answers POST /proposals/{pid}/translations.
type TranslationCreated struct {
	ID       crdt.OpID `json:"id"`
	Revision crdt.OpID `json:"revision"`
}

// StartStep is POST /sessions/{sid}/phase: the index of the step to start
// in the session's agenda, or -1 to stop.
type StartStep struct {
	Index int              `json:"index"`
	As    *crdt.IdentityID `json:"as,omitempty"`
}

// Translate is POST /proposals/{pid}/translations.
func (c *Client) Translate(ctx context.Context, pid crdt.OpID, req Translate) (TranslationCreated, error) {
	return api[TranslationCreated](ctx, c, "POST", "/proposals/"+pid.String()+"/translations", req)
}

// StartStep is POST /sessions/{sid}/phase.
func (c *Client) StartStep(ctx context.Context, sid crdt.OpID, req StartStep) (Session, error) {
	return api[Session](ctx, c, "POST", "/sessions/"+sid.String()+"/phase", req)
}

// DocumentIn is GET /sessions/{sid}/document?lang=: the document as a room
// reading lang sees it.
func (c *Client) DocumentIn(ctx context.Context, sid crdt.OpID, lang string) (Document, error) {
	return api[Document](ctx, c, "GET", "/sessions/"+sid.String()+"/document?lang="+url.QueryEscape(lang), nil)
}
