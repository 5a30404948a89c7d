package export

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"strings"

	"rsc.io/qr"

	"github.com/convene/convene/crdt"
)

// RenderRatified renders a ratified document file: a pure function of f,
// which ReadRatified relies on.
func RenderRatified(f RatifiedFile) ([]byte, error) {
	js, err := json.Marshal(f)
	if err != nil {
		return nil, err
	}
	qrSVG, err := digestQR(f.Ratification.Digest)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	err = ratifiedPage.Execute(&buf, ratifiedView{
		F:        f,
		QR:       qrSVG,
		Envelope: base64.StdEncoding.EncodeToString(f.Envelope),
		Disclose: base64.StdEncoding.EncodeToString(f.Disclosure),
	})
	if err != nil {
		return nil, fmt.Errorf("render the ratified document: %w", err)
	}
	buf.WriteString(ratifiedOpen)
	buf.Write(js)
	buf.WriteString(ratifiedClose)
	return buf.Bytes(), nil
}

type ratifiedView struct {
	F        RatifiedFile
	QR       template.HTML
	Envelope string
	Disclose string
}

// digestQR draws the QR code of the digest's hex form as inline SVG, one
// path of unit squares, so that it prints sharp at any size.
func digestQR(d crdt.Digest) (template.HTML, error) {
	code, err := qr.Encode(d.String(), qr.M)
	if err != nil {
		return "", fmt.Errorf("QR code of the digest: %w", err)
	}
	const quiet = 4
	n := code.Size + 2*quiet
	var p strings.Builder
	for y := range code.Size {
		for x := range code.Size {
			if code.Black(x, y) {
				fmt.Fprintf(&p, "M%d %dh1v1h-1z", x+quiet, y+quiet)
			}
		}
	}
	return template.HTML(fmt.Sprintf(`<svg class="qr" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" role="img" aria-label="QR code of the digest" shape-rendering="crispEdges"><rect width="%d" height="%d" fill="#fff"/><path d="%s" fill="#000"/></svg>`, n, n, n, n, p.String())), nil
}

func short(s fmt.Stringer) string { return s.String()[:12] }

var ratifiedPage = template.Must(template.New("ratified").Funcs(template.FuncMap{
	"short": short,
	"inc":   func(i int) int { return i + 1 },
	"date":  func(f RatifiedFile) string { return f.Ratification.At.UTC().Format("2 January 2006, 15:04 UTC") },
	"names": func(gs []crdt.GroupRef) string {
		out := make([]string, len(gs))
		for i, g := range gs {
			// An empty name is withheld (a hidden group): no group has
			// one, so files without one render as before.
			out[i] = g.Name
			if g.Name == "" {
				out[i] = "a hidden group"
			}
		}
		return strings.Join(out, ", ")
	},
}).Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.F.Document.Title}} — ratified document</title>
<style>
@page { size: A4; margin: 18mm 18mm 20mm; }
body { font: 11.5pt/1.5 Georgia, "Times New Roman", serif; color: #111; max-width: 48em; margin: 2em auto; padding: 0 1em; }
header { display: flex; justify-content: space-between; align-items: flex-start; gap: 1.5em; border-bottom: 2px solid #111; padding-bottom: .8em; }
.kicker { font: 600 9pt/1.2 system-ui, sans-serif; letter-spacing: .12em; text-transform: uppercase; color: #555; margin: 0 0 .4em; }
h1 { font-size: 22pt; line-height: 1.15; margin: 0 0 .3em; }
.meta { font: 9.5pt/1.45 system-ui, sans-serif; color: #333; margin: 0; }
.meta dt { float: left; clear: left; width: 7.5em; color: #666; }
.meta dd { margin: 0 0 0 7.5em; overflow-wrap: anywhere; }
.qrbox { text-align: center; font: 8pt system-ui, sans-serif; color: #555; flex: none; }
.qr { width: 34mm; height: 34mm; display: block; }
ol.proposals { padding: 0; margin: 1.2em 0; list-style: none; counter-reset: p; }
ol.proposals > li { break-inside: avoid; border-bottom: 1px solid #ccc; padding: .7em 0 .8em 2.6em; position: relative; }
ol.proposals > li::before { counter-increment: p; content: counter(p) "."; position: absolute; left: 0; top: .55em; font-size: 16pt; font-weight: bold; }
.text { white-space: pre-wrap; margin: 0 0 .35em; font-size: 12.5pt; }
.by, .from { font: 9pt/1.4 system-ui, sans-serif; color: #444; margin: 0; }
.from { color: #555; overflow-wrap: anywhere; }
footer { margin-top: 1.5em; font: 8.5pt/1.4 system-ui, sans-serif; color: #444; }
footer h2 { font-size: 10pt; margin: 0 0 .3em; }
code, .sig { font: 7.5pt/1.3 ui-monospace, "DejaVu Sans Mono", monospace; overflow-wrap: anywhere; word-break: break-all; }
.sig { color: #666; margin: .3em 0; }
.sign { display: flex; gap: 3em; margin: 2.2em 0 .5em; font: 9pt system-ui, sans-serif; color: #444; }
.sign div { flex: 1; border-top: 1px solid #777; padding-top: .3em; }
</style>
</head>
<body>
<article>
<header>
<div>
<p class="kicker">Ratified document{{with .F.Gathering.Name}} · {{.}}{{end}}</p>
<h1>{{.F.Document.Title}}</h1>
<dl class="meta">
<dt>Ratified</dt><dd>{{date .F}}{{with .F.ByName}}, by {{.}}{{end}}</dd>
<dt>Proposals</dt><dd>{{len .F.Document.Proposals}}</dd>
<dt>Digest</dt><dd><code>{{.F.Ratification.Digest}}</code></dd>
<dt>Gathering</dt><dd><code>{{.F.Gathering.ID}}</code></dd>
<dt>Session</dt><dd><code>{{.F.Document.Session}}</code></dd>
</dl>
</div>
<div class="qrbox">{{.QR}}digest</div>
</header>
<ol class="proposals">
{{- range .F.Document.Proposals}}
<li><p class="text">{{.Text}}</p>
<p class="by">Proposed by <strong>{{.Group.Name}}</strong> · {{len .EndorsedBy}} endorsement{{if ne (len .EndorsedBy) 1}}s{{end}}{{if .EndorsedBy}}: {{names .EndorsedBy}}{{end}}</p>
{{- with .From}}
<p class="from">From gathering <code>{{short .Gathering}}</code>, session <code>{{short .Session}}</code>, proposal <code>{{short .Proposal}}</code>, revision <code>{{short .Revision}}</code>{{if not .Digest.IsZero}}, ratified document <code>{{short .Digest}}</code>{{end}}</p>
{{- end}}
</li>
{{- end}}
</ol>
<div class="sign"><div>Facilitator</div><div>Date and place</div></div>
<footer>
<h2>How to check this document</h2>
<p>This file carries the ratification signed by the facilitator's key <code>{{.F.Key}}</code>. Run <code>convene verify FILE</code> on any computer, with no data and no network: it checks the signature, recomputes the digest from the text above and reports any change. The digest is also in the QR code.</p>
<p class="sig">Ratification {{.F.Ratification.ID}} · signed operation (base64): {{.Envelope}} · disclosure: {{.Disclose}}</p>
<p>Generated {{.F.Generated.UTC.Format "2006-01-02 15:04 UTC"}} by convene.</p>
</footer>
</article>
`))
