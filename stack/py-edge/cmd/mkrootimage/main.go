// Command mkrootimage packs layer tarballs (a Debian rootfs from mmdebstrap, an
// app layer made with tar) into an OCI image written as a docker-archive,
// without any container daemon (go-containerregistry).
//
//	mkrootimage -layer base.tar -layer app.tar -entrypoint '["/app/start.sh"]' \
//	            -user 10001:10001 -env PATH=/usr/bin:/bin -env EDGE_DATA_DIR=/data \
//	            -arch amd64 -tag edgechaos/py-edge:dev -out dist/py-edge-amd64.tar
package main

import (
	"compress/gzip"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/edgechaos/edgechaos/stack/internal/cmdutil"
	"github.com/edgechaos/edgechaos/stack/internal/image"
)

func main() {
	cmdutil.Exit("mkrootimage", run(os.Args[1:]))
}

func jsonList(flagName, v string) ([]string, error) {
	if v == "" {
		return nil, nil
	}
	var out []string
	if err := json.Unmarshal([]byte(v), &out); err != nil {
		return nil, fmt.Errorf("-%s %q: want a JSON array of strings: %w", flagName, v, err)
	}
	return out, nil
}

func run(args []string) error {
	fs := flag.NewFlagSet("mkrootimage", flag.ContinueOnError)
	var layers, env cmdutil.ListFlag
	fs.Var(&layers, "layer", "layer tarball, uncompressed or gzip (repeatable, applied in order)")
	fs.Var(&env, "env", "KEY=VALUE for the image config (repeatable)")
	entry := fs.String("entrypoint", "", `entrypoint as a JSON array, e.g. ["/app/start.sh"]`)
	cmd := fs.String("cmd", "", "cmd as a JSON array")
	user := fs.String("user", "", "image user (uid[:gid] or name[:group])")
	workdir := fs.String("workdir", "/", "working directory")
	arch := fs.String("arch", "amd64", "amd64 or arm64")
	tag := fs.String("tag", "", "image tag (required)")
	out := fs.String("out", "", "output docker-archive path (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if len(layers) == 0 || *tag == "" || *out == "" {
		fs.Usage()
		return fmt.Errorf("-layer, -tag and -out are required")
	}
	ep, err := jsonList("entrypoint", *entry)
	if err != nil {
		return err
	}
	cm, err := jsonList("cmd", *cmd)
	if err != nil {
		return err
	}
	var ls []v1.Layer
	for _, p := range layers {
		l, err := tarball.LayerFromFile(p, tarball.WithCompressionLevel(gzip.BestCompression), tarball.WithMediaType(types.OCILayer))
		if err != nil {
			return fmt.Errorf("layer %s: %w", p, err)
		}
		ls = append(ls, l)
	}
	img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), ls...)
	if err != nil {
		return fmt.Errorf("append layers: %w", err)
	}
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	cf, err := img.ConfigFile()
	if err != nil {
		return err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Created = "linux", *arch, v1.Time{Time: time.Unix(0, 0).UTC()}
	cf.Config.Entrypoint, cf.Config.Cmd = ep, cm
	cf.Config.Env = append([]string(nil), env...)
	cf.Config.User, cf.Config.WorkingDir = *user, *workdir
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return err
	}
	if err := image.WriteArchive(*out, *tag, img); err != nil {
		return err
	}
	size, err := image.CompressedSize(img)
	if err != nil {
		return err
	}
	fmt.Printf("%s %s compressed=%d layers=%d\n", *out, *tag, size, len(ls))
	return nil
}
