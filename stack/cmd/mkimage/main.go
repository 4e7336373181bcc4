// Command mkimage packs a static binary into a minimal OCI image and writes
// it as a docker-archive tarball, without any container daemon.
//
//	mkimage -name edge-agent -bin dist/bin/linux-amd64/edge-agent -arch amd64 \
//	        -out dist/images/edge-agent-amd64.tar [-tag edgechaos/edge-agent:dev] \
//	        [-env K=V ...] [-port 8080] [-pad-mb 12] \
//	        [-file host:/container/path[:mode] ...] [-cmd ARG ...]
//
// -file adds host files (e.g. a dynamically linked binary's shared libraries
// and the script it runs) in one more layer; -cmd sets the default arguments.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/edgechaos/edgechaos/stack/internal/cmdutil"
	"github.com/edgechaos/edgechaos/stack/internal/image"
)

func main() {
	cmdutil.Exit("mkimage", run(os.Args[1:]))
}

func run(args []string) error {
	fs := flag.NewFlagSet("mkimage", flag.ContinueOnError)
	var o image.Options
	var env, files, cmd cmdutil.ListFlag
	fs.StringVar(&o.Name, "name", "", "binary name, installed as /<name> (required)")
	fs.StringVar(&o.Binary, "bin", "", "path of the static binary (required)")
	fs.StringVar(&o.Arch, "arch", "amd64", "amd64 or arm64")
	fs.IntVar(&o.Port, "port", 8080, "exposed TCP port (0 for none)")
	fs.IntVar(&o.PadMB, "pad-mb", 0, "add an incompressible padding layer of this many MiB (test fixture)")
	fs.Var(&env, "env", "KEY=VALUE for the image config (repeatable)")
	fs.Var(&files, "file", "host:/container/path[:octal mode], an extra file in one more layer (repeatable)")
	fs.Var(&cmd, "cmd", "a default argument of the entrypoint, in order (repeatable)")
	out := fs.String("out", "", "output docker-archive path (required)")
	tag := fs.String("tag", "", "image tag (default edgechaos/<name>:dev)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.Name == "" || o.Binary == "" || *out == "" {
		fs.Usage()
		return fmt.Errorf("-name, -bin and -out are required")
	}
	for _, e := range env {
		if !strings.Contains(e, "=") {
			return fmt.Errorf("-env %q: want KEY=VALUE", e)
		}
	}
	o.Env = env
	for _, spec := range files {
		f, err := image.ParseFile(spec)
		if err != nil {
			return err
		}
		o.Files = append(o.Files, f)
	}
	o.Cmd = cmd
	if *tag == "" {
		*tag = "edgechaos/" + o.Name + ":dev"
	}
	img, err := image.Build(o)
	if err != nil {
		return fmt.Errorf("build %s: %w", o.Name, err)
	}
	if err := image.WriteArchive(*out, *tag, img); err != nil {
		return err
	}
	size, err := image.CompressedSize(img)
	if err != nil {
		return err
	}
	fmt.Printf("%s %s compressed=%d\n", *out, *tag, size)
	return nil
}
