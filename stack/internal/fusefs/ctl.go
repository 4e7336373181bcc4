package fusefs

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"time"
)

var errNoSpace = syscall.ENOSPC

// Handle runs one control command (the words after `ec-fusefs ctl <socket>`)
// and returns its answer lines.
//
//	set io-error op=write prob=0.3 [errno=EIO]
//	set io-latency op=fsync prob=1 delay=200ms
//	clear io-error|io-latency [op=write]    clear all
//	power-loss                               status
func (f *FS) Handle(words []string) ([]string, error) {
	if len(words) == 0 {
		return nil, errors.New("no command (set, clear, power-loss, status)")
	}
	switch words[0] {
	case "set":
		if len(words) < 2 {
			return nil, errors.New("set: which kind (io-error, io-latency)")
		}
		k := Kind(words[1])
		if k != KindError && k != KindLatency {
			return nil, fmt.Errorf("set: kind %q is not io-error or io-latency", words[1])
		}
		ops, r, err := ParseRule(k, words[2:])
		if err != nil {
			return nil, err
		}
		f.Inject.Set(k, ops, r)
		return []string{"ok"}, nil
	case "clear":
		if len(words) < 2 {
			return nil, errors.New("clear: which kind (io-error, io-latency, all)")
		}
		if words[1] == "all" {
			f.Inject.Clear(KindError, nil)
			f.Inject.Clear(KindLatency, nil)
			return []string{"ok"}, nil
		}
		k := Kind(words[1])
		if k != KindError && k != KindLatency {
			return nil, fmt.Errorf("clear: kind %q is not io-error, io-latency or all", words[1])
		}
		var ops []Op
		for _, w := range words[2:] {
			v, ok := strings.CutPrefix(w, "op=")
			if !ok {
				return nil, fmt.Errorf("clear: %q is not op=…", w)
			}
			for _, o := range strings.Split(v, ",") {
				if o == "all" {
					ops = append(ops, Ops...)
					continue
				}
				if o != string(OpRead) && o != string(OpWrite) && o != string(OpFsync) {
					return nil, fmt.Errorf("clear: op %q is not read, write, fsync or all", o)
				}
				ops = append(ops, Op(o))
			}
		}
		f.Inject.Clear(k, ops)
		return []string{"ok"}, nil
	case "power-loss":
		if f.Lazy == nil {
			return nil, errors.New("power-loss: this mount does not keep un-synced writes apart (started with -lazy=false)")
		}
		rep := f.Lazy.PowerLoss()
		out := []string{fmt.Sprintf("ok dropped files=%d writes=%d", rep.Files, rep.Writes)}
		for _, e := range rep.Errors {
			out = append(out, "error "+e)
		}
		if len(rep.Errors) > 0 {
			return out, fmt.Errorf("power-loss: %d undo errors", len(rep.Errors))
		}
		return out, nil
	case "status":
		out := []string{"ok"}
		if f.Lazy != nil {
			files, writes := f.Lazy.Pending()
			out = append(out, fmt.Sprintf("unsynced files=%d writes=%d", files, writes))
		}
		return append(out, f.Inject.Status()...), nil
	}
	return nil, fmt.Errorf("unknown command %q (set, clear, power-loss, status)", words[0])
}

// Serve answers control connections on a unix socket: one request line of
// words, answered by lines and a final "end" or "fail <reason>".
//
// An Accept error other than a closed listener (out of descriptors, an
// aborted connection) is waited out and accepting goes on, as net/http does:
// returning would leave the layer mounted with nobody answering its control
// socket, so no fault on it could be reverted.
func (f *FS) Serve(l net.Listener) {
	var delay time.Duration
	for {
		c, err := l.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			fmt.Fprintf(os.Stderr, "ec-fusefs: control socket: accept: %v; again in %s\n", err, delay)
			time.Sleep(delay)
			continue
		}
		delay = 0
		go func() {
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(30 * time.Second))
			line, err := bufio.NewReader(c).ReadString('\n')
			if err != nil {
				return
			}
			lines, herr := f.Handle(strings.Fields(line))
			w := bufio.NewWriter(c)
			for _, l := range lines {
				fmt.Fprintln(w, l)
			}
			if herr != nil {
				fmt.Fprintln(w, "fail "+herr.Error())
			} else {
				fmt.Fprintln(w, "end")
			}
			_ = w.Flush()
		}()
	}
}

// Ctl sends one command to a running layer and returns its answer lines.
func Ctl(socket string, words []string) ([]string, error) {
	for _, w := range words {
		if strings.ContainsAny(w, " \t\r\n") {
			return nil, fmt.Errorf("argument %q contains white space", w)
		}
	}
	c, err := net.DialTimeout("unix", socket, 5*time.Second)
	if err != nil {
		return nil, fmt.Errorf("control socket %s: %w", socket, err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(60 * time.Second))
	if _, err := fmt.Fprintln(c, strings.Join(words, " ")); err != nil {
		return nil, fmt.Errorf("control socket %s: %w", socket, err)
	}
	var out []string
	sc := bufio.NewScanner(c)
	for sc.Scan() {
		l := sc.Text()
		if l == "end" {
			return out, nil
		}
		if r, ok := strings.CutPrefix(l, "fail "); ok {
			return out, errors.New(r)
		}
		out = append(out, l)
	}
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("control socket %s: %w", socket, err)
	}
	return out, fmt.Errorf("control socket %s: answer ended early", socket)
}

// Fill creates path (it must not exist) and grows it until its file system
// has no space left, then syncs it. It returns the bytes it took.
func Fill(path string) (int64, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return 0, fmt.Errorf("fill: %w", err)
	}
	defer f.Close()
	var total int64
	var sfs syscall.Statfs_t
	if err := syscall.Fstatfs(int(f.Fd()), &sfs); err == nil && sfs.Bavail > 0 {
		// fallocate takes the free blocks at once (tmpfs and ext4 support it).
		free := int64(sfs.Bavail) * sfs.Bsize
		if err := syscall.Fallocate(int(f.Fd()), 0, 0, free); err == nil {
			total = free
			if _, err := f.Seek(free, 0); err != nil {
				return total, fmt.Errorf("fill %s: %w", path, err)
			}
		}
	}
	buf := make([]byte, 1<<20)
	for len(buf) > 0 {
		n, err := f.Write(buf)
		total += int64(n)
		if err != nil {
			if !errors.Is(err, errNoSpace) {
				return total, fmt.Errorf("fill %s: %w", path, err)
			}
			// Smaller writes take the last partial blocks.
			buf = buf[:len(buf)/2]
			if len(buf) < 512 {
				break
			}
		}
	}
	if err := f.Sync(); err != nil && !errors.Is(err, errNoSpace) {
		return total, fmt.Errorf("fill %s: sync: %w", path, err)
	}
	return total, nil
}

// NotRunning tells whether a Ctl error means no layer listens on the socket
// (socket file missing, or left behind by a layer that was killed).
func NotRunning(err error) bool {
	return errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED)
}
