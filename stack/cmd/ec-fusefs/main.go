// Command ec-fusefs is the fault layer over an edge node's data dir (see
// internal/fusefs):
//
//	ec-fusefs mount -backing DIR -mount DIR -ctl SOCKET [-lazy=true] [-seed N]
//	ec-fusefs ctl SOCKET set io-error op=write prob=0.3 [errno=EIO]
//	ec-fusefs ctl SOCKET set io-latency op=read,fsync prob=1 delay=200ms
//	ec-fusefs ctl SOCKET clear io-error|io-latency|all [op=…]
//	ec-fusefs ctl SOCKET power-loss | status
//	ec-fusefs ctl -if-running SOCKET …  (success when the layer is gone: for undo commands)
//	ec-fusefs full FILE     (make FILE's disk full: a tmpfs shrinks to its use, others are filled)
//	ec-fusefs release FILE BYTES  (undo full: the tmpfs gets its size back, FILE goes)
//
// mount serves until SIGTERM/SIGINT, then unmounts. The control socket is
// created only once the mount is up, so it doubles as the ready signal.
package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/edgechaos/edgechaos/stack/internal/fusefs"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "mount":
		err = mount(os.Args[2:])
	case "ctl":
		args := os.Args[2:]
		ifRunning := len(args) > 0 && args[0] == "-if-running"
		if ifRunning {
			args = args[1:]
		}
		if len(args) < 2 {
			usage()
		}
		var lines []string
		lines, err = fusefs.Ctl(args[0], args[1:])
		if ifRunning && fusefs.NotRunning(err) {
			lines, err = []string{"ok layer not running: nothing to do"}, nil
		}
		for _, l := range lines {
			fmt.Println(l)
		}
	case "full":
		if len(os.Args) != 3 {
			usage()
		}
		var how string
		how, err = fusefs.Full(os.Args[2])
		if err == nil {
			fmt.Println(how)
		}
	case "release":
		if len(os.Args) != 4 {
			usage()
		}
		var size int64
		size, err = strconv.ParseInt(os.Args[3], 10, 64)
		if err == nil {
			err = fusefs.Release(os.Args[2], size)
		}
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ec-fusefs:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: ec-fusefs mount -backing DIR -mount DIR -ctl SOCKET [-lazy=true] [-seed N]\n"+
		"       ec-fusefs ctl [-if-running] SOCKET (set|clear|power-loss|status) [args…]\n"+
		"       ec-fusefs full FILE\n"+
		"       ec-fusefs release FILE BYTES")
	os.Exit(2)
}

func mount(args []string) error {
	fl := flag.NewFlagSet("mount", flag.ExitOnError)
	backing := fl.String("backing", "", "directory the layer passes through to")
	mnt := fl.String("mount", "", "directory to mount the layer on")
	ctl := fl.String("ctl", "", "unix socket for control commands")
	lazy := fl.Bool("lazy", true, "keep writes revocable until fsync (power-loss)")
	seed := fl.Uint64("seed", 1, "seed of the injection draws")
	_ = fl.Parse(args)
	if *backing == "" || *mnt == "" || *ctl == "" {
		return errors.New("mount: -backing, -mount and -ctl are required")
	}
	fsys := &fusefs.FS{Inject: fusefs.NewInjector(*seed)}
	if *lazy {
		fsys.Lazy = fusefs.NewLazy()
	}
	srv, err := fusefs.Mount(*backing, *mnt, fsys)
	if err != nil {
		return err
	}
	_ = os.Remove(*ctl)
	l, err := net.Listen("unix", *ctl)
	if err != nil {
		_ = srv.Unmount()
		return fmt.Errorf("control socket: %w", err)
	}
	go fsys.Serve(l)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	done := make(chan struct{})
	go func() { srv.Wait(); close(done) }()
	select {
	case <-sig:
	case <-done:
	}
	_ = l.Close()
	_ = os.Remove(*ctl)
	if err := srv.Unmount(); err != nil {
		// Busy (a process still has files open): detach it lazily.
		_ = syscall.Unmount(*mnt, syscall.MNT_DETACH)
	}
	return nil
}
