// Command ec-stress is the static stressor edgechaos uploads to boards that have no stress-ng: CPU
// workers that are busy for a share of every 100 ms period, and memory workers that allocate, touch
// and hold their share of --vm-bytes (touching it again every second, so it stays resident). It
// takes the stress-ng flags the cpu-stress and memory-stress faults use (see args.go).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) > 1 && (os.Args[1] == "-h" || os.Args[1] == "--help") {
		fmt.Println("usage: ec-stress [--cpu N [--cpu-load P]] [--vm N --vm-bytes B] [--timeout D]")
		return
	}
	c, err := ParseArgs(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "ec-stress:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if c.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}
	if n := c.CPUWorkers + 2; n > runtime.GOMAXPROCS(0) {
		runtime.GOMAXPROCS(n)
	}
	fmt.Fprintf(os.Stderr, "ec-stress: %d cpu workers at %d%%, %d vm workers holding %d bytes, timeout %v\n",
		c.CPUWorkers, c.CPULoad, c.VMWorkers, c.VMBytes, c.Timeout)
	done := make(chan error, c.CPUWorkers+c.VMWorkers)
	for i := 0; i < c.CPUWorkers; i++ {
		go func() { done <- cpuWorker(ctx, c.CPULoad) }()
	}
	for i := 0; i < c.VMWorkers; i++ {
		share := c.VMBytes / int64(c.VMWorkers)
		if i == 0 {
			share += c.VMBytes % int64(c.VMWorkers)
		}
		go func() { done <- vmWorker(ctx, share) }()
	}
	for i := 0; i < c.CPUWorkers+c.VMWorkers; i++ {
		if err := <-done; err != nil {
			fmt.Fprintln(os.Stderr, "ec-stress:", err)
			os.Exit(1)
		}
	}
}

const period = 100 * time.Millisecond

// cpuWorker spins on its own OS thread for load% of every period and sleeps the rest.
func cpuWorker(ctx context.Context, load int) error {
	runtime.LockOSThread()
	busy := period * time.Duration(load) / 100
	x := uint64(1)
	for ctx.Err() == nil {
		start := time.Now()
		for time.Since(start) < busy {
			for i := 0; i < 4096; i++ {
				x = x*6364136223846793005 + 1442695040888963407
			}
		}
		sink = x
		if rest := period - time.Since(start); rest > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(rest):
			}
		}
	}
	return nil
}

var sink uint64

// vmWorker maps n bytes, writes to every page, and rewrites them every second until ctx ends.
func vmWorker(ctx context.Context, n int64) error {
	mem, err := syscall.Mmap(-1, 0, int(n), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		return fmt.Errorf("mmap %d bytes: %w", n, err)
	}
	defer func() { _ = syscall.Munmap(mem) }()
	page := os.Getpagesize()
	for round := byte(1); ; round++ {
		for i := 0; i < len(mem); i += page {
			mem[i] = round
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
}
