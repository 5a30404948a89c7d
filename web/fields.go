package web

import (
	"bytes"
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
)

// checkFieldNames refuses a JSON document whose object keys are not, byte
// for byte, the names of the fields of t, or that names a field twice.
// encoding/json matches names without regard to case and keeps the last of
// repeated names, so {"title":"a","TITLE":"b"} would otherwise make "b".
// Values decoded by their own UnmarshalJSON or UnmarshalText, and maps, are
// not looked into.
func checkFieldNames(body []byte, t reflect.Type) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	return walkValue(dec, t, "")
}

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// walkValue reads one value from dec, checking it against t (nil: anything).
func walkValue(dec *json.Decoder, t reflect.Type, at string) error {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t != nil && (reflect.PointerTo(t).Implements(jsonUnmarshaler) || reflect.PointerTo(t).Implements(textUnmarshaler)) {
		t = nil
	}
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch tok {
	case json.Delim('{'):
		var fields map[string]reflect.Type
		var elem reflect.Type
		switch {
		case t != nil && t.Kind() == reflect.Struct:
			fields = jsonFields(t)
		case t != nil && t.Kind() == reflect.Map:
			elem = t.Elem()
		}
		seen := map[string]bool{}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return err
			}
			key := k.(string)
			ft := elem
			if fields != nil {
				var ok bool
				if ft, ok = fields[key]; !ok {
					return fmt.Errorf("unknown field %q%s (names are case-sensitive)", key, where(at))
				}
				if seen[key] {
					return fmt.Errorf("field %q given twice%s", key, where(at))
				}
				seen[key] = true
			}
			if err := walkValue(dec, ft, strings.TrimPrefix(at+"."+key, ".")); err != nil {
				return err
			}
		}
		_, err = dec.Token()
		return err
	case json.Delim('['):
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for dec.More() {
			if err := walkValue(dec, elem, at+"[]"); err != nil {
				return err
			}
		}
		_, err = dec.Token()
		return err
	}
	return nil
}

func where(at string) string {
	if at == "" {
		return ""
	}
	return " in " + at
}

// fieldsOf caches jsonFields: request types are few and never change.
var fieldsOf sync.Map // reflect.Type → map[string]reflect.Type

// jsonFields maps the JSON names of t's fields, those of embedded structs
// included, to their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	if m, ok := fieldsOf.Load(t); ok {
		return m.(map[string]reflect.Type)
	}
	out := map[string]reflect.Type{}
	defer func() { fieldsOf.Store(t, out) }()
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for k, v := range jsonFields(ft) {
					out[k] = v
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}
