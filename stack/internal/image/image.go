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
	"path"
	"path/filepath"
	"sort"
	"strconv"
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
	// Files are extra files (shared libraries, scripts) in one more layer after the
	// binary's, each at its absolute container path; none: no extra layer, so an
	// image without them is byte-identical to one built before this option existed.
	Files []File
	// Cmd is the image config's default arguments to the entrypoint (none: unset).
	Cmd []string
}

// File is one host file copied into the image (symbolic links followed).
type File struct {
	Host      string // path on the build host
	Container string // absolute path in the image
	Mode      int64  // permission bits; 0: 0555 if the host file is executable by its owner, else 0444
}

// ParseFile reads a `-file host:container[:mode]` spec (mode in octal).
func ParseFile(spec string) (File, error) {
	parts := strings.Split(spec, ":")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || !path.IsAbs(parts[1]) {
		return File{}, fmt.Errorf("-file %q: want host:/container/path[:mode]", spec)
	}
	f := File{Host: parts[0], Container: path.Clean(parts[1])}
	if f.Container == "/" {
		return File{}, fmt.Errorf("-file %q: the container path names no file", spec)
	}
	if len(parts) == 3 {
		m, err := strconv.ParseInt(parts[2], 8, 32)
		if err != nil || m < 0 || m > 0o7777 {
			return File{}, fmt.Errorf("-file %q: mode %q is not octal permission bits", spec, parts[2])
		}
		f.Mode = m
	}
	return f, nil
}

// filesLayer is the layer of the extra files, with every parent directory
// (0755, root) listed before them, in path order.
func filesLayer(fs []File) (v1.Layer, error) {
	dirs := map[string]bool{}
	seen := map[string]bool{}
	var out []file
	for _, f := range fs {
		name := strings.TrimPrefix(f.Container, "/")
		if seen[name] {
			return nil, fmt.Errorf("%s named twice", f.Container)
		}
		seen[name] = true
		body, err := os.ReadFile(f.Host)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", f.Host, err)
		}
		mode := f.Mode
		if mode == 0 {
			st, err := os.Stat(f.Host)
			if err != nil {
				return nil, fmt.Errorf("stat %s: %w", f.Host, err)
			}
			mode = 0o444
			if st.Mode()&0o100 != 0 {
				mode = 0o555
			}
		}
		out = append(out, file{name: name, mode: mode, body: body})
		for d := path.Dir(name); d != "."; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	for d := range dirs {
		if seen[d] {
			return nil, fmt.Errorf("/%s is both a file and a directory", d)
		}
		out = append(out, file{name: d + "/", dir: true, mode: 0o755})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return layerOf(out)
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
	if len(o.Files) > 0 {
		l, err := filesLayer(o.Files)
		if err != nil {
			return nil, fmt.Errorf("files layer: %w", err)
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
	if len(o.Cmd) > 0 {
		cf.Config.Cmd = append([]string(nil), o.Cmd...)
	}
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
