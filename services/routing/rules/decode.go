package rules

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"
)

// decodeStrict decodes a YAML document into out (a pointer to a struct),
// refusing unknown fields. Its errors name the field path from the
// document root: `spec.when.chanels: is not a field; accepted: channels,
// customerTiers, ...`, where encoding/json says only `unknown field
// "chanels"`.
func decodeStrict(doc []byte, out any) error {
	err := yaml.UnmarshalStrict(doc, out)
	if err == nil {
		return nil
	}
	var generic any
	if yaml.Unmarshal(doc, &generic) == nil {
		if unknown := unknownFields(generic, reflect.TypeOf(out).Elem(), ""); len(unknown) > 0 {
			return errors.Join(unknown...)
		}
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return fmt.Errorf("%s: got %s; accepted: %s", te.Field, article(te.Value), describeType(te.Type))
	}
	return err
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

// unknownFields walks v (decoded YAML) along t and returns an error per
// key that t has no field for.
func unknownFields(v any, t reflect.Type, path string) []error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		return nil // its own decoder says what it accepts
	}
	var errs []error
	switch t.Kind() {
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		fields := jsonFields(t)
		for _, k := range slices.Sorted(maps.Keys(m)) {
			p := joinPath(path, k)
			f, ok := fields[k]
			if !ok {
				errs = append(errs, fmt.Errorf("%s: is not a field; accepted: %s", p, strings.Join(slices.Sorted(maps.Keys(fields)), ", ")))
				continue
			}
			errs = append(errs, unknownFields(m[k], f, p)...)
		}
	case reflect.Slice:
		items, ok := v.([]any)
		if !ok {
			return nil
		}
		for i, item := range items {
			errs = append(errs, unknownFields(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i))...)
		}
	case reflect.Map:
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		for _, k := range slices.Sorted(maps.Keys(m)) {
			errs = append(errs, unknownFields(m[k], t.Elem(), fmt.Sprintf("%s[%s]", path, k))...)
		}
	}
	return errs
}

// jsonFields maps a struct's JSON names to their types, with the fields
// of inlined (embedded, untagged or ",inline") structs.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() && !f.Anonymous {
			continue
		}
		if f.Anonymous && (name == "" || strings.Contains(opts, "inline")) && f.Type.Kind() == reflect.Struct {
			maps.Copy(out, jsonFields(f.Type))
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// article puts "a" or "an" before a JSON value kind ("string", "array").
func article(kind string) string {
	if kind != "" && strings.ContainsRune("aeiou", rune(kind[0])) {
		return "an " + kind
	}
	return "a " + kind
}

// describeType says in words what a Go type accepts.
func describeType(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		one := strings.TrimPrefix(strings.TrimPrefix(describeType(t.Elem()), "a "), "an ")
		if list, ok := strings.CutPrefix(one, "list "); ok {
			return "a list of lists " + list
		}
		return "a list of " + one + "s"
	case reflect.Map:
		return "a map from each name to " + describeType(t.Elem())
	case reflect.Pointer:
		return describeType(t.Elem())
	}
	return "an object"
}
