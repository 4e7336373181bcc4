package qlearn

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
)

// The trace and table loaders walk a generically decoded document so every error names the
// exact field (nodes[3].latencyMs.site-1) rather than the Go type that failed to decode.

// fieldError is a problem with one field of a document, named by its path from the root.
type fieldError struct {
	path string
	msg  string
}

func (e *fieldError) Error() string {
	if e.path == "" {
		return e.msg
	}
	return e.path + ": " + e.msg
}

func errAt(path, format string, args ...any) error {
	return &fieldError{path: path, msg: fmt.Sprintf(format, args...)}
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func indexPath(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// decodeDocument parses JSON keeping numbers exact (json.Number) and rejecting trailing data.
func decodeDocument(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, errAt("", "not valid JSON: %v", err)
	}
	if dec.More() {
		return nil, errAt("", "not valid JSON: data after the top-level value")
	}
	return v, nil
}

// object is a decoded JSON object with its path, for field access with path-naming errors.
type object struct {
	m    map[string]any
	path string
}

func asObject(v any, path string) (object, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return object{}, errAt(path, "must be an object, got %s", describe(v))
	}
	return object{m: m, path: path}, nil
}

func (o object) get(key string) (any, bool) {
	v, ok := o.m[key]
	return v, ok
}

func (o object) required(key string) (any, error) {
	v, ok := o.m[key]
	if !ok {
		return nil, errAt(joinPath(o.path, key), "missing")
	}
	return v, nil
}

func (o object) object(key string) (object, error) {
	v, err := o.required(key)
	if err != nil {
		return object{}, err
	}
	return asObject(v, joinPath(o.path, key))
}

func (o object) array(key string) ([]any, error) {
	v, err := o.required(key)
	if err != nil {
		return nil, err
	}
	a, ok := v.([]any)
	if !ok {
		return nil, errAt(joinPath(o.path, key), "must be an array, got %s", describe(v))
	}
	return a, nil
}

func (o object) str(key string) (string, error) {
	v, err := o.required(key)
	if err != nil {
		return "", err
	}
	return asString(v, joinPath(o.path, key))
}

func asString(v any, path string) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", errAt(path, "must be a string, got %s", describe(v))
	}
	return s, nil
}

func (o object) boolean(key string) (bool, error) {
	v, err := o.required(key)
	if err != nil {
		return false, err
	}
	b, ok := v.(bool)
	if !ok {
		return false, errAt(joinPath(o.path, key), "must be true or false, got %s", describe(v))
	}
	return b, nil
}

// number reads a required finite number.
func (o object) number(key string) (float64, error) {
	v, err := o.required(key)
	if err != nil {
		return 0, err
	}
	return asNumber(v, joinPath(o.path, key))
}

func asNumber(v any, path string) (float64, error) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, errAt(path, "must be a number, got %s", describe(v))
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, errAt(path, "must be a finite number, got %s", n)
	}
	return f, nil
}

// integer reads a required whole number ≥ min (exactly representable: |x| ≤ 2^53).
func (o object) integer(key string, min int64) (int64, error) {
	v, err := o.required(key)
	if err != nil {
		return 0, err
	}
	return asInteger(v, joinPath(o.path, key), min)
}

func asInteger(v any, path string, min int64) (int64, error) {
	f, err := asNumber(v, path)
	if err != nil {
		return 0, err
	}
	if f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, errAt(path, "must be a whole number, got %v", v)
	}
	if int64(f) < min {
		return 0, errAt(path, "must be ≥ %d, got %v", min, v)
	}
	return int64(f), nil
}

// sortedKeys gives an object's keys in a fixed order, so the first error reported is stable.
func (o object) sortedKeys() []string {
	keys := make([]string, 0, len(o.m))
	for k := range o.m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return strconv.Quote(x)
	case bool:
		return strconv.FormatBool(x)
	case json.Number:
		return "the number " + string(x)
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// decodeHeader decodes a document and checks its kind and version: the root object, or an
// error naming the field.
func decodeHeader(data []byte, kind string, version int64) (object, error) {
	doc, err := decodeDocument(data)
	if err != nil {
		return object{}, err
	}
	root, err := asObject(doc, "")
	if err != nil {
		return object{}, err
	}
	k, err := root.str("kind")
	if err != nil {
		return object{}, err
	}
	if k != kind {
		return object{}, errAt("kind", "must be %q, got %q", kind, k)
	}
	v, err := root.integer("version", 0)
	if err != nil {
		return object{}, err
	}
	if v != version {
		return object{}, errAt("version", "must be %d (the only version this reads), got %d", version, v)
	}
	return root, nil
}
