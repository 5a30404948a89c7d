package web

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/convene/convene/web/apiv1"
)

func TestCheckFieldNames(t *testing.T) {
	ev := reflect.TypeFor[*apiv1.CreateEvent]()
	cases := []struct {
		name, body string
		t          reflect.Type
		ok         bool
	}{
		{"exact", `{"title":"a","prompt":"p","cap":3,"as":null}`, reflect.TypeFor[*apiv1.CreateSession](), true},
		{"other case", `{"Title":"a"}`, reflect.TypeFor[*apiv1.CreateSession](), false},
		{"twice", `{"title":"a","title":"b"}`, reflect.TypeFor[*apiv1.CreateSession](), false},
		{"embedded fields", `{"title":"a","start":"s","end":"e","timezone":"UTC","tags":["x"],"as":null}`, ev, true},
		{"nested object", `{"place":{"venue":"v","lat":1}}`, ev, true},
		{"nested other case", `{"place":{"VENUE":"v"}}`, ev, false},
		{"ids are values, not objects", `{"base":["00"],"group":"00"}`, reflect.TypeFor[*apiv1.Revise](), true},
		{"unknown", `{"bogus":1}`, reflect.TypeFor[*apiv1.Register](), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := checkFieldNames([]byte(tc.body), tc.t)
			if (err == nil) != tc.ok {
				t.Fatalf("checkFieldNames(%s) = %v, want ok %v", tc.body, err, tc.ok)
			}
		})
	}
}

// BenchmarkDecodeEvent is the strict decoder on a full event body, the
// largest request the pages send.
func BenchmarkDecodeEvent(b *testing.B) {
	body := `{"title":"Assembly","description":"` + strings.Repeat("All groups; bring your drafts. ", 100) + `",` +
		`"start":"2026-03-28T09:00:00+01:00","end":"2026-03-29T18:00:00+02:00","timezone":"Europe/Paris",` +
		`"place":{"venue":"La Bourse","address":"3 rue du Château-d'Eau, Paris","lat":48.87,"lon":2.36},` +
		`"online_url":"https://meet.example/a","language":"fr","tags":["assembly","plenary"],"capacity":10,"status":"tentative"}`
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		r := httptest.NewRequest(http.MethodPost, "/api/v1/events", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		var req apiv1.CreateEvent
		if err := decode(httptest.NewRecorder(), r, &req); err != nil {
			b.Fatal(err)
		}
	}
}
