// Package image builds minimal single-binary OCI images without a container
// daemon and writes them as docker-archive tarballs (what `docker load` and
// `kind load image-archive` accept).
package image

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// NonRoot is the uid:gid the images run as (the distroless "nonroot" user).
const NonRoot = 65532

// Options describe one image.
type Options struct {
	Name   string   // binary name; installed as /<Name> and used as entrypoint
	Binary string   // path of the static binary
	Arch   string   // amd64 or arm64
	Env    []string // KEY=VALUE entries of the image config
	Port   int      // exposed TCP port, 0 for none
	PadMB  int      // size of an extra incompressible padding layer (test fixture)
}

// epoch is the fixed timestamp of every file and of the config: builds are
// reproducible, so an unchanged binary yields an identical archive.
var epoch = time.Unix(0, 0).UTC()

// Build assembles the image in memory.
func Build(o Options) (v1.Image, error) {
	if o.Name == "" || strings.ContainsRune(o.Name, '/') {
		return nil, fmt.Errorf("image name %q: want a plain file name", o.Name)
	}
	if o.Arch != "amd64" && o.Arch != "arm64" {
		return nil, fmt.Errorf("arch %q: want amd64 or arm64", o.Arch)
	}
	bin, err := os.ReadFile(o.Binary)
	if err != nil {
		return nil, fmt.Errorf("read binary: %w", err)
	}
	app, err := layerOf([]file{
		{name: "data/", dir: true, mode: 0o700, uid: NonRoot},
		{name: o.Name, mode: 0o555, body: bin},
	})
	if err != nil {
		return nil, fmt.Errorf("binary layer: %w", err)
	}
	layers := []v1.Layer{app}
	if o.PadMB > 0 {
		pad := make([]byte, o.PadMB<<20)
		if _, err := rand.Read(pad); err != nil {
			return nil, fmt.Errorf("padding: %w", err)
		}
		l, err := layerOf([]file{{name: "pad.bin", mode: 0o444, body: pad}})
		if err != nil {
			return nil, fmt.Errorf("padding layer: %w", err)
		}
		layers = append(layers, l)
	}
	img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), layers...)
	if err != nil {
		return nil, fmt.Errorf("append layers: %w", err)
	}
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Created = "linux", o.Arch, v1.Time{Time: epoch}
	if o.Arch == "arm64" {
		cf.Variant = "v8"
	}
	for i := range cf.History {
		cf.History[i].Created = v1.Time{Time: epoch}
		cf.History[i].CreatedBy = "edgechaos mkimage"
	}
	cf.Config.Entrypoint = []string{"/" + o.Name}
	cf.Config.Env = append([]string(nil), o.Env...)
	cf.Config.User = fmt.Sprintf("%d:%d", NonRoot, NonRoot)
	cf.Config.WorkingDir = "/"
	cf.Config.Labels = map[string]string{"org.opencontainers.image.title": o.Name, "org.opencontainers.image.source": "https://github.com/edgechaos/edgechaos"}
	if o.Port > 0 {
		cf.Config.ExposedPorts = map[string]struct{}{fmt.Sprintf("%d/tcp", o.Port): {}}
	}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return nil, fmt.Errorf("set config: %w", err)
	}
	return img, nil
}

// WriteArchive writes img tagged tag as a docker-archive tarball at path,
// atomically (temp file + rename).
func WriteArchive(path, tag string, img v1.Image) error {
	ref, err := name.NewTag(tag)
	if err != nil {
		return fmt.Errorf("tag %q: %w", tag, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(path), err)
	}
	tmp := path + ".tmp"
	if err := tarball.WriteToFile(tmp, ref, img); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("rename %s: %w", tmp, err)
	}
	return nil
}

// CompressedSize is the image size as a registry would store it: the config
// blob plus the compressed layer blobs.
func CompressedSize(img v1.Image) (int64, error) {
	m, err := img.Manifest()
	if err != nil {
		return 0, fmt.Errorf("manifest: %w", err)
	}
	total := m.Config.Size
	for _, l := range m.Layers {
		total += l.Size
	}
	return total, nil
}

type file struct {
	name string
	dir  bool
	mode int64
	uid  int
	body []byte
}

// layerOf builds a gzip-compressed layer holding files, with fixed times.
func layerOf(files []file) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		h := &tar.Header{Name: f.name, Mode: f.mode, Uid: f.uid, Gid: f.uid, ModTime: epoch, Format: tar.FormatPAX}
		if f.dir {
			h.Typeflag = tar.TypeDir
		} else {
			h.Typeflag, h.Size = tar.TypeReg, int64(len(f.body))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("tar header %s: %w", f.name, err)
		}
		if _, err := tw.Write(f.body); err != nil {
			return nil, fmt.Errorf("tar body %s: %w", f.name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("close tar: %w", err)
	}
	data := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithCompressionLevel(gzip.BestCompression), tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, fmt.Errorf("layer from tar: %w", err)
	}
	return l, nil
}
