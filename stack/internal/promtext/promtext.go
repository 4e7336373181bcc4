// Package promtext writes metrics in the Prometheus text exposition format.
package promtext

import (
	"fmt"
	"io"
)

// Metric is one unlabelled sample with its metadata.
type Metric struct {
	Name  string
	Help  string
	Type  string // "counter" or "gauge"
	Value float64
}

// Write renders metrics in order.
func Write(w io.Writer, ms []Metric) error {
	for _, m := range ms {
		if _, err := fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n%s %g\n", m.Name, m.Help, m.Name, m.Type, m.Name, m.Value); err != nil {
			return fmt.Errorf("write metric %s: %w", m.Name, err)
		}
	}
	return nil
}
