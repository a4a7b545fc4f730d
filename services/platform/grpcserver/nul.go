package grpcserver

import (
	"strconv"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// nulRule is the message of a string that holds a NUL byte. The rule
// holds for every string of every request, whatever its .proto says:
// PostgreSQL's text cannot store U+0000 (SQLite can), and no help desk
// text needs it, so input is refused at the door with the field named,
// rather than by one store engine with a 500. (Channels that take
// untrusted text, such as mail, strip it before they call the API.)
const nulRule = "must not contain the NUL character (U+0000)"

// nulViolation is one string field, element or map entry holding a NUL.
type nulViolation struct {
	field string // e.g. ticket.tags[1], ticket.custom_fields["k"]
	value string
}

// nulStrings walks m (nested messages, repeated and map fields included)
// and returns every string holding a NUL byte, with its field path in
// protovalidate's notation.
func nulStrings(m protoreflect.Message) []nulViolation {
	// Nearly every request is clean: look first without building a path
	// for every field, and name the fields only when there is a NUL.
	if !anyNUL(m) {
		return nil
	}
	var out []nulViolation
	walkNUL(m, "", &out)
	return out
}

// anyNUL reports whether any string in m holds a NUL byte, allocating
// nothing.
func anyNUL(m protoreflect.Message) bool {
	found := false
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsMap():
			v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
				if fd.MapKey().Kind() == protoreflect.StringKind && hasNUL(k.String()) {
					found = true
				} else {
					found = valueHasNUL(fd.MapValue(), mv)
				}
				return !found
			})
		case fd.IsList():
			l := v.List()
			for i := 0; i < l.Len() && !found; i++ {
				found = valueHasNUL(fd, l.Get(i))
			}
		default:
			found = valueHasNUL(fd, v)
		}
		return !found
	})
	return found
}

// valueHasNUL is anyNUL for one singular value of fd's kind.
func valueHasNUL(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
	switch fd.Kind() {
	case protoreflect.StringKind:
		return hasNUL(v.String())
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return anyNUL(v.Message())
	}
	return false
}

func walkNUL(m protoreflect.Message, prefix string, out *[]nulViolation) {
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		path := prefix + string(fd.Name())
		switch {
		case fd.IsMap():
			v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
				entry := path + "[" + mapKey(k) + "]"
				if ks, ok := k.Interface().(string); ok && hasNUL(ks) {
					*out = append(*out, nulViolation{field: entry, value: ks})
				}
				checkValue(fd.MapValue(), mv, entry, out)
				return true
			})
		case fd.IsList():
			l := v.List()
			for i := range l.Len() {
				checkValue(fd, l.Get(i), path+"["+strconv.Itoa(i)+"]", out)
			}
		default:
			checkValue(fd, v, path, out)
		}
		return true
	})
}

// checkValue checks one singular value of fd's kind: a string, or a
// message to walk.
func checkValue(fd protoreflect.FieldDescriptor, v protoreflect.Value, path string, out *[]nulViolation) {
	switch fd.Kind() {
	case protoreflect.StringKind:
		if s := v.String(); hasNUL(s) {
			*out = append(*out, nulViolation{field: path, value: s})
		}
	case protoreflect.MessageKind, protoreflect.GroupKind:
		walkNUL(v.Message(), path+".", out)
	}
}

func hasNUL(s string) bool { return strings.IndexByte(s, 0) >= 0 }

// mapKey renders a map key as protovalidate does in field paths: strings
// quoted, other kinds as they print.
func mapKey(k protoreflect.MapKey) string {
	if s, ok := k.Interface().(string); ok {
		return strconv.Quote(s)
	}
	return k.String()
}
