//go:build defects

package hub

import (
	"fmt"
	"strings"

	"github.com/edgechaos/edgechaos/stack/internal/env"
)

// defectsBuild is true only in test-fixture binaries (-tags defects).
const defectsBuild = true

// ApplyDefects reads HUB_DEFECT (comma-separated): no-dedupe stores every
// row received, so edge resends become duplicate ledger rows.
func ApplyDefects(l env.Lookup, s *Store) error {
	for _, name := range strings.Split(l.String("HUB_DEFECT", ""), ",") {
		switch strings.TrimSpace(name) {
		case "":
		case "no-dedupe":
			s.noDedupe = true
		default:
			return fmt.Errorf("HUB_DEFECT: unknown defect %q", name)
		}
	}
	return nil
}
