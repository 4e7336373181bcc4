package env

import (
	"testing"
	"time"
)

func TestLookup(t *testing.T) {
	l := Lookup(func(k string) (string, bool) {
		v, ok := map[string]string{"S": "x", "E": "", "N": "42", "BAD": "4x", "MS": "250"}[k]
		return v, ok
	})
	tests := []struct {
		name    string
		got     func() (any, error)
		want    any
		wantErr bool
	}{
		{"string set", func() (any, error) { return l.String("S", "d"), nil }, "x", false},
		{"string empty uses default", func() (any, error) { return l.String("E", "d"), nil }, "d", false},
		{"string unset uses default", func() (any, error) { return l.String("U", "d"), nil }, "d", false},
		{"int set", func() (any, error) { return l.Int("N", 1, 0, 100) }, 42, false},
		{"int unset", func() (any, error) { return l.Int("U", 7, 0, 100) }, 7, false},
		{"int not a number", func() (any, error) { return l.Int("BAD", 1, 0, 100) }, 0, true},
		{"int above range", func() (any, error) { return l.Int("N", 1, 0, 10) }, 0, true},
		{"millis", func() (any, error) { return l.Millis("MS", time.Second, 0, time.Hour) }, 250 * time.Millisecond, false},
		{"millis default", func() (any, error) { return l.Millis("U", time.Second, 0, time.Hour) }, time.Second, false},
	}
	for _, tt := range tests {
		got, err := tt.got()
		if (err != nil) != tt.wantErr {
			t.Errorf("%s: err %v", tt.name, err)
			continue
		}
		if !tt.wantErr && got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}
