//go:build !defects

package edge

import "github.com/edgechaos/edgechaos/stack/internal/env"

// defectsBuild is false in the reference build: every defect branch is
// guarded by it and removed by the compiler, and EDGE_DEFECT is never read.
const defectsBuild = false

// LoadDefects returns no defects in the reference build.
func LoadDefects(env.Lookup) (Defects, error) { return Defects{}, nil }

func defectStore(Defects) (Store, error) { return nil, nil }

func (a *Agent) applyDefects() {}
