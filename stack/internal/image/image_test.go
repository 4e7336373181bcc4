package image

import (
	"archive/tar"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func fakeBinary(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "bin")
	if err := os.WriteFile(p, []byte("\x7fELF fake binary"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// layerFiles lists name -> header of every file in the image's layers.
func layerFiles(t *testing.T, path, tag string) map[string]*tar.Header {
	t.Helper()
	ref, _ := name.NewTag(tag)
	img, err := tarball.ImageFromPath(path, &ref)
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]*tar.Header{}
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			files[h.Name] = h
		}
		rc.Close()
	}
	return files
}

func TestBuildAndWriteArchive(t *testing.T) {
	bin := fakeBinary(t)
	tests := []struct {
		name       string
		opts       Options
		wantLayers int
		minSize    int64
		wantErr    bool
	}{
		{"amd64 agent", Options{Name: "edge-agent", Binary: bin, Arch: "amd64", Env: []string{"A=1"}, Port: 8080}, 1, 0, false},
		{"arm64 hub", Options{Name: "cloud-hub", Binary: bin, Arch: "arm64"}, 1, 0, false},
		{"padded fixture", Options{Name: "edge-agent", Binary: bin, Arch: "amd64", PadMB: 2}, 2, 2 << 20, false},
		{"bad arch", Options{Name: "x", Binary: bin, Arch: "mips"}, 0, 0, true},
		{"missing binary", Options{Name: "x", Binary: "/nonexistent", Arch: "amd64"}, 0, 0, true},
		{"path in name", Options{Name: "a/b", Binary: bin, Arch: "amd64"}, 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img, err := Build(tt.opts)
			if tt.wantErr {
				if err == nil {
					t.Fatal("want an error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(t.TempDir(), "img.tar")
			tag := "edgechaos/" + tt.opts.Name + ":dev"
			if err := WriteArchive(out, tag, img); err != nil {
				t.Fatal(err)
			}
			cf, err := img.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			if cf.OS != "linux" || cf.Architecture != tt.opts.Arch || cf.Config.User != "65532:65532" ||
				len(cf.Config.Entrypoint) != 1 || cf.Config.Entrypoint[0] != "/"+tt.opts.Name {
				t.Fatalf("config %+v", cf)
			}
			files := layerFiles(t, out, tag)
			if h := files[tt.opts.Name]; h == nil || h.Mode&0o111 == 0 {
				t.Fatalf("binary missing or not executable in %v", files)
			}
			if h := files["data/"]; h == nil || h.Uid != NonRoot {
				t.Fatalf("data dir missing or not owned by %d", NonRoot)
			}
			layers, _ := img.Layers()
			size, err := CompressedSize(img)
			if err != nil || len(layers) != tt.wantLayers || size < tt.minSize {
				t.Fatalf("layers %d size %d err %v", len(layers), size, err)
			}
		})
	}
}

func TestBuildIsReproducible(t *testing.T) {
	bin := fakeBinary(t)
	var digests []string
	for range 2 {
		img, err := Build(Options{Name: "edge-agent", Binary: bin, Arch: "amd64"})
		if err != nil {
			t.Fatal(err)
		}
		d, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		digests = append(digests, d.String())
	}
	if digests[0] != digests[1] {
		t.Fatalf("two builds differ: %v", digests)
	}
}

func TestParseFile(t *testing.T) {
	tests := []struct {
		spec    string
		want    File
		wantErr bool
	}{
		{"/usr/bin/node:/node", File{Host: "/usr/bin/node", Container: "/node"}, false},
		{"lib.so:/lib/x86_64-linux-gnu/lib.so:0444", File{Host: "lib.so", Container: "/lib/x86_64-linux-gnu/lib.so", Mode: 0o444}, false},
		{"a:/app//b/../c", File{Host: "a", Container: "/app/c"}, false},
		{"a:relative", File{}, true},
		{"a", File{}, true},
		{":/x", File{}, true},
		{"a:/", File{}, true},
		{"a:/x:999", File{}, true},
		{"a:/x:0644:extra", File{}, true},
	}
	for _, tt := range tests {
		got, err := ParseFile(tt.spec)
		if (err != nil) != tt.wantErr || (!tt.wantErr && got != tt.want) {
			t.Errorf("ParseFile(%q) = %+v, %v; want %+v, error %v", tt.spec, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestBuildWithFiles(t *testing.T) {
	bin := fakeBinary(t)
	dir := t.TempDir()
	lib := filepath.Join(dir, "libx.so")
	script := filepath.Join(dir, "runner.mjs")
	if err := os.WriteFile(lib, []byte("lib"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(script, []byte("console.log(1)"), 0o644); err != nil {
		t.Fatal(err)
	}
	o := Options{Name: "node", Binary: bin, Arch: "amd64", Cmd: []string{"/app/runner.mjs"}, Files: []File{
		{Host: lib, Container: "/lib/x86_64-linux-gnu/libx.so"},
		{Host: script, Container: "/app/runner.mjs"},
		{Host: script, Container: "/app/copy.mjs", Mode: 0o400},
	}}
	img, err := Build(o)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "img.tar")
	if err := WriteArchive(out, "edgechaos/load-runner:dev", img); err != nil {
		t.Fatal(err)
	}
	layers, _ := img.Layers()
	if len(layers) != 2 {
		t.Fatalf("want the binary's layer and the files' layer, got %d", len(layers))
	}
	files := layerFiles(t, out, "edgechaos/load-runner:dev")
	want := map[string]int64{
		"node": 0o555, "lib/": 0o755, "lib/x86_64-linux-gnu/": 0o755, "lib/x86_64-linux-gnu/libx.so": 0o555,
		"app/": 0o755, "app/runner.mjs": 0o444, "app/copy.mjs": 0o400,
	}
	for name, mode := range want {
		h := files[name]
		if h == nil || h.Mode != mode || h.Uid != 0 && name != "data/" {
			t.Errorf("%s: header %+v, want mode %o owned by root", name, h, mode)
		}
	}
	cf, _ := img.ConfigFile()
	if len(cf.Config.Cmd) != 1 || cf.Config.Cmd[0] != "/app/runner.mjs" {
		t.Fatalf("cmd %v", cf.Config.Cmd)
	}
	// a container path twice, or a file where another one needs a directory, is refused
	for _, bad := range [][]File{
		{{Host: lib, Container: "/a"}, {Host: script, Container: "/a"}},
		{{Host: lib, Container: "/a"}, {Host: script, Container: "/a/b"}},
		{{Host: "/nonexistent", Container: "/a"}},
	} {
		if _, err := Build(Options{Name: "node", Binary: bin, Arch: "amd64", Files: bad}); err == nil {
			t.Errorf("files %+v: want an error", bad)
		}
	}
}

// Without files nor cmd, the image is the one single-layer image it always was (the stack's image
// digests are pinned elsewhere).
func TestNoFilesNoExtraLayer(t *testing.T) {
	bin := fakeBinary(t)
	a, _ := Build(Options{Name: "edge-agent", Binary: bin, Arch: "amd64"})
	b, _ := Build(Options{Name: "edge-agent", Binary: bin, Arch: "amd64", Files: []File{}, Cmd: []string{}})
	da, _ := a.Digest()
	db, _ := b.Digest()
	la, _ := a.Layers()
	cf, _ := a.ConfigFile()
	if da != db || len(la) != 1 || cf.Config.Cmd != nil {
		t.Fatalf("digests %s %s, %d layers, cmd %v", da, db, len(la), cf.Config.Cmd)
	}
}
