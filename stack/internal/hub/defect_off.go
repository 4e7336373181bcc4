//go:build !defects

package hub

import "github.com/edgechaos/edgechaos/stack/internal/env"

// defectsBuild is false in the reference build: defect branches are
// compiled out and HUB_DEFECT is never read.
const defectsBuild = false

// ApplyDefects does nothing in the reference build.
func ApplyDefects(env.Lookup, *Store) error { return nil }
