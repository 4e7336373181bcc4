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
