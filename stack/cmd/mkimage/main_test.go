package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func TestRunFileAndCmdFlags(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "node")
	lib := filepath.Join(dir, "libc.so.6")
	for _, f := range []string{bin, lib} {
		if err := os.WriteFile(f, []byte("x"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(dir, "img.tar")
	err := run([]string{"-name", "node", "-bin", bin, "-port", "0",
		"-file", lib + ":/lib/x86_64-linux-gnu/libc.so.6", "-file", bin + ":/app/runner.mjs:0444",
		"-cmd", "/app/runner.mjs", "-cmd", "--stream", "-out", out, "-tag", "edgechaos/load-runner:dev"})
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := name.NewTag("edgechaos/load-runner:dev")
	img, err := tarball.ImageFromPath(out, &ref)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(cf.Config.Cmd, " ") != "/app/runner.mjs --stream" || len(cf.Config.ExposedPorts) != 0 {
		t.Fatalf("config %+v", cf.Config)
	}
	if layers, _ := img.Layers(); len(layers) != 2 {
		t.Fatalf("want 2 layers, got %d", len(layers))
	}
	for _, bad := range []string{"relative/path", lib + ":/x:9z"} {
		if err := run([]string{"-name", "node", "-bin", bin, "-file", bad, "-out", out}); err == nil {
			t.Errorf("-file %q: want an error", bad)
		}
	}
}
