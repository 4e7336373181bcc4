package fusefs

import (
	"bytes"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// mountT mounts a layer over a fresh dir (backing on a tmpfs of sizeMB when > 0).
func mountT(t *testing.T, sizeMB int) (backing, mnt string, f *FS) {
	t.Helper()
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Fatalf("these tests need FUSE (/dev/fuse; apt-get install fuse3 and load the fuse module): %v", err)
	}
	dir := t.TempDir()
	backing, mnt = filepath.Join(dir, "disk"), filepath.Join(dir, "data")
	for _, d := range []string{backing, mnt} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if sizeMB > 0 {
		if err := syscall.Mount("tmpfs", backing, "tmpfs", 0, "size="+itoa(sizeMB)+"m"); err != nil {
			t.Fatalf("tmpfs (needs root): %v", err)
		}
		t.Cleanup(func() { _ = syscall.Unmount(backing, syscall.MNT_DETACH) })
	}
	f = &FS{Inject: NewInjector(7), Lazy: NewLazy()}
	srv, err := Mount(backing, mnt, f)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Unmount(); err != nil {
			_ = syscall.Unmount(mnt, syscall.MNT_DETACH)
		}
	})
	return backing, mnt, f
}

func itoa(n int) string { return fmtInt(n) }
func fmtInt(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

func writeFile(t *testing.T, path string, data []byte, off int64, sync bool) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(data, off); err != nil {
		t.Fatal(err)
	}
	if sync {
		if err := f.Sync(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestPowerLossDropsUnsyncedWritesOnly(t *testing.T) {
	_, mnt, f := mountT(t, 0)
	synced := filepath.Join(mnt, "synced")
	lost := filepath.Join(mnt, "lost")
	mixed := filepath.Join(mnt, "mixed")
	writeFile(t, synced, []byte("durable"), 0, true)
	writeFile(t, lost, []byte("volatile"), 0, false)
	writeFile(t, mixed, []byte("AAAAAAAA"), 0, true)
	writeFile(t, mixed, []byte("BBBB"), 4, false) // overwrite inside
	writeFile(t, mixed, []byte("CCCC"), 8, false) // extend
	if got, _ := os.ReadFile(mixed); string(got) != "AAAABBBBCCCC" {
		t.Fatalf("before the power cut mixed = %q", got)
	}
	if _, writes := f.Lazy.Pending(); writes != 3 {
		t.Fatalf("pending writes = %d, want 3", writes)
	}
	lines, err := f.Handle([]string{"power-loss"})
	if err != nil || lines[0] != "ok dropped files=2 writes=3" {
		t.Fatalf("power-loss: %v %v", lines, err)
	}
	for _, c := range []struct{ path, want string }{{synced, "durable"}, {lost, ""}, {mixed, "AAAAAAAA"}} {
		got, err := os.ReadFile(c.path)
		if err != nil || string(got) != c.want {
			t.Errorf("%s after power loss = %q (%v), want %q", filepath.Base(c.path), got, err, c.want)
		}
	}
	if _, writes := f.Lazy.Pending(); writes != 0 {
		t.Fatalf("pending after power loss = %d", writes)
	}
}

func TestFsyncAfterRenameKeepsData(t *testing.T) {
	_, mnt, f := mountT(t, 0)
	tmp, final := filepath.Join(mnt, "x.tmp"), filepath.Join(mnt, "x")
	writeFile(t, tmp, []byte("v1"), 0, false)
	if err := os.Rename(tmp, final); err != nil {
		t.Fatal(err)
	}
	// Not synced before the cut: the renamed file loses its content.
	if _, err := f.Handle([]string{"power-loss"}); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(final); len(got) != 0 {
		t.Fatalf("unsynced renamed file kept %q", got)
	}
	writeFile(t, final, []byte("v2"), 0, true)
	if _, err := f.Handle([]string{"power-loss"}); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(final); string(got) != "v2" {
		t.Fatalf("synced file = %q", got)
	}
}

func TestMmapReaderSeesRestoredContent(t *testing.T) {
	_, mnt, f := mountT(t, 0)
	p := filepath.Join(mnt, "db")
	writeFile(t, p, bytes.Repeat([]byte{'a'}, 8192), 0, true)
	writeFile(t, p, bytes.Repeat([]byte{'b'}, 4096), 0, false)
	if _, err := f.Handle([]string{"power-loss"}); err != nil {
		t.Fatal(err)
	}
	fd, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer fd.Close()
	m, err := syscall.Mmap(int(fd.Fd()), 0, 8192, syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Munmap(m)
	if !bytes.Equal(m, bytes.Repeat([]byte{'a'}, 8192)) {
		t.Fatalf("mmap after power loss shows the dropped write (first byte %q)", m[0])
	}
}

func TestIOErrorAndLatencyRules(t *testing.T) {
	_, mnt, f := mountT(t, 0)
	p := filepath.Join(mnt, "f")
	writeFile(t, p, []byte("hello"), 0, true)
	if _, err := f.Handle([]string{"set", "io-error", "op=write", "prob=1"}); err != nil {
		t.Fatal(err)
	}
	fd, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, werr := fd.WriteAt([]byte("x"), 0)
	fd.Close()
	if !errors.Is(werr, syscall.EIO) {
		t.Fatalf("write under io-error = %v, want EIO", werr)
	}
	if got, err := os.ReadFile(p); err != nil || string(got) != "hello" {
		t.Fatalf("reads must still work: %q %v", got, err)
	}
	if _, err := f.Handle([]string{"set", "io-error", "op=fsync", "prob=1", "errno=EROFS"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Handle([]string{"clear", "io-error", "op=write"}); err != nil {
		t.Fatal(err)
	}
	fd, _ = os.OpenFile(p, os.O_WRONLY, 0)
	if _, err := fd.WriteAt([]byte("j"), 0); err != nil {
		t.Fatalf("write after clear: %v", err)
	}
	serr := fd.Sync()
	fd.Close()
	if !errors.Is(serr, syscall.EROFS) {
		t.Fatalf("fsync under io-error errno=EROFS = %v", serr)
	}
	// The failed fsync did not make the write durable.
	if _, err := f.Handle([]string{"clear", "all"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Handle([]string{"power-loss"}); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(p); string(got) != "hello" {
		t.Fatalf("a write whose fsync failed survived the power cut: %q", got)
	}
	if _, err := f.Handle([]string{"set", "io-latency", "op=read", "prob=1", "delay=30ms"}); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	fd, _ = os.Open(p)
	buf := make([]byte, 5)
	_, _ = fd.ReadAt(buf, 0)
	fd.Close()
	if d := time.Since(t0); d < 30*time.Millisecond {
		t.Fatalf("read under io-latency 30ms took %v", d)
	}
	st, _ := f.Handle([]string{"status"})
	if !strings.Contains(strings.Join(st, "\n"), "injected io-latency.read") {
		t.Fatalf("status does not count the latency: %v", st)
	}
}

func TestDiskFullRefusesWritesKeepsReads(t *testing.T) {
	for _, tc := range []struct {
		name    string
		full    func(path string) error
		release func(path string) error
	}{
		{"shrink the tmpfs", func(p string) error { _, err := Full(p); return err },
			func(p string) error { return Release(p, 4<<20) }},
		{"fill", func(p string) error {
			n, err := Fill(p)
			if err == nil && n < 3<<20 {
				err = errors.New("filled only " + itoa(int(n)) + " bytes")
			}
			return err
		}, os.Remove},
	} {
		t.Run(tc.name, func(t *testing.T) {
			backing, mnt, _ := mountT(t, 4)
			p := filepath.Join(mnt, "f")
			writeFile(t, p, []byte("kept"), 0, true)
			filler := filepath.Join(backing, ".ec-fill")
			if err := tc.full(filler); err != nil {
				t.Fatalf("full: %v", err)
			}
			fd, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			_, werr := fd.Write(bytes.Repeat([]byte{'z'}, 64<<10))
			if werr == nil {
				werr = fd.Sync()
			}
			fd.Close()
			if !errors.Is(werr, syscall.ENOSPC) {
				t.Fatalf("write on a full disk = %v, want ENOSPC", werr)
			}
			if got, err := os.ReadFile(p); err != nil || !strings.HasPrefix(string(got), "kept") {
				t.Fatalf("read on a full disk: %q %v", got, err)
			}
			if err := tc.release(filler); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(filler); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("release left %s: %v", filler, err)
			}
			writeFile(t, filepath.Join(mnt, "g"), bytes.Repeat([]byte{'y'}, 2<<20), 0, true)
		})
	}
}

// An empty tmpfs must not become unlimited (size=0) when it is made full.
func TestFullOnAnEmptyTmpfsStaysLimited(t *testing.T) {
	backing, _, _ := mountT(t, 4)
	filler := filepath.Join(backing, ".ec-fill")
	if _, err := Full(filler); err != nil {
		t.Fatal(err)
	}
	var sfs syscall.Statfs_t
	if err := syscall.Statfs(backing, &sfs); err != nil {
		t.Fatal(err)
	}
	if sfs.Blocks == 0 || sfs.Bavail != 0 {
		t.Fatalf("after Full: %d blocks, %d free; want a limited disk with none free", sfs.Blocks, sfs.Bavail)
	}
	if err := Release(filler, 4<<20); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Statfs(backing, &sfs); err != nil || int64(sfs.Blocks)*sfs.Bsize != 4<<20 {
		t.Fatalf("after Release: %d blocks of %d (%v); want 4 MiB", sfs.Blocks, sfs.Bsize, err)
	}
}

func TestParseRule(t *testing.T) {
	cases := []struct {
		kind Kind
		args string
		err  string
	}{
		{KindError, "op=write prob=0.3", ""},
		{KindError, "op=all prob=1 errno=ENOSPC", ""},
		{KindLatency, "op=fsync prob=1 delay=200ms", ""},
		{KindLatency, "op=fsync prob=1", "delay is required"},
		{KindError, "prob=1", "op is required"},
		{KindError, "op=chmod", "op \"chmod\""},
		{KindError, "op=read prob=1.5", "prob"},
		{KindError, "op=read errno=EFOO", "errno"},
		{KindError, "op=read delay=1s", "delay only applies"},
		{KindLatency, "op=read delay=1s errno=EIO", "errno only applies"},
		{KindError, "op=read bogus=1", "unknown field"},
	}
	for _, c := range cases {
		_, _, err := ParseRule(c.kind, strings.Fields(c.args))
		if c.err == "" && err != nil || c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%s %q: err %v, want %q", c.kind, c.args, err, c.err)
		}
	}
}

func TestCtlOverSocketAndNotRunning(t *testing.T) {
	_, _, f := mountT(t, 0)
	sock := filepath.Join(t.TempDir(), "ctl.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	go f.Serve(l)
	if out, err := Ctl(sock, []string{"set", "io-error", "op=read", "prob=0.5"}); err != nil || out[0] != "ok" {
		t.Fatalf("set over the socket: %v %v", out, err)
	}
	if _, err := Ctl(sock, []string{"set", "io-error", "op=nope"}); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("a bad command must fail with its reason, got %v", err)
	}
	if _, err := Ctl(sock, []string{"op=a b"}); err == nil {
		t.Fatal("white space inside an argument must be refused")
	}
	// A layer killed with kill -9 leaves its socket file: that is "not running", as is no file.
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	_, err = Ctl(sock, []string{"status"})
	if !NotRunning(err) {
		t.Fatalf("stale socket: %v is not NotRunning", err)
	}
	_, err = Ctl(filepath.Join(t.TempDir(), "none.sock"), []string{"status"})
	if !NotRunning(err) {
		t.Fatalf("missing socket: %v is not NotRunning", err)
	}
	if _, err := f.Handle([]string{"power-loss"}); err != nil {
		t.Fatal(err)
	}
	f.Lazy = nil
	if _, err := f.Handle([]string{"power-loss"}); err == nil {
		t.Fatal("power-loss without the undo log must fail")
	}
}

// The layer runs as root: without default_permissions the kernel would not check modes, and any
// user of the node could write a root-owned data dir through it.
func TestKernelChecksPermissions(t *testing.T) {
	backing, mnt, _ := mountT(t, 0)
	// Let the other user reach the mount point (t.TempDir's dirs are 0700).
	for d := filepath.Dir(mnt); d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(backing, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(mnt, "mine"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(filepath.Join(mnt, "mine"), 65532, 65532); err != nil {
		t.Fatal(err)
	}
	touch := func(path string) error {
		cmd := exec.Command("touch", path)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65532, Gid: 65532}}
		out, err := cmd.CombinedOutput()
		if err != nil {
			return errors.New(strings.TrimSpace(string(out)))
		}
		return nil
	}
	if err := touch(filepath.Join(mnt, "root-owned")); err == nil || !strings.Contains(err.Error(), "Permission denied") {
		t.Fatalf("user 65532 wrote into root's 0755 dir through the layer (err %v)", err)
	}
	if err := touch(filepath.Join(mnt, "mine", "ok")); err != nil {
		t.Fatalf("user 65532 could not write its own dir: %v", err)
	}
}

// A stack that writes files, cannot sync them (io-error on fsync) and deletes them must not leave
// the layer holding one descriptor per deleted file: the bench ran the layer into its descriptor
// limit (20000) that way, and its control socket stopped accepting.
func TestUnlinkedUnsyncedFilesAreForgotten(t *testing.T) {
	_, mnt, f := mountT(t, 0)
	if _, err := f.Handle([]string{"set", "io-error", "op=fsync", "prob=1"}); err != nil {
		t.Fatal(err)
	}
	keep := filepath.Join(mnt, "keep")
	writeFile(t, keep, []byte("kept"), 0, false)
	for i := 0; i < 200; i++ {
		p := filepath.Join(mnt, "probe-"+itoa(i))
		fd, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fd.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
		if err := fd.Sync(); !errors.Is(err, syscall.EIO) {
			t.Fatalf("fsync under io-error = %v, want EIO", err)
		}
		fd.Close()
		if i%2 == 0 {
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
		} else if err := os.Rename(p, keep); err != nil { // replaces keep: its old inode loses its name
			t.Fatal(err)
		}
	}
	if files, _ := f.Lazy.Pending(); files != 1 {
		t.Fatalf("%d files kept for undo, want 1 (the last file renamed over keep)", files)
	}
	if _, err := f.Handle([]string{"clear", "all"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Handle([]string{"power-loss"}); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(keep); err != nil || len(got) != 0 {
		t.Fatalf("the never-synced file renamed over keep must end up empty after a power cut: %q %v", got, err)
	}
}

// emfileOnce fails its first Accept as a process out of descriptors does.
type emfileOnce struct {
	net.Listener
	failed bool
}

func (l *emfileOnce) Accept() (net.Conn, error) {
	if !l.failed {
		l.failed = true
		return nil, &net.OpError{Op: "accept", Net: "unix", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	}
	return l.Listener.Accept()
}

func TestServeOutlivesAcceptErrors(t *testing.T) {
	_, _, f := mountT(t, 0)
	sock := filepath.Join(t.TempDir(), "ctl.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go f.Serve(&emfileOnce{Listener: l})
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("status\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 256)
	n, err := c.Read(buf)
	if err != nil || !strings.HasPrefix(string(buf[:n]), "ok") {
		t.Fatalf("no answer after an EMFILE from accept: %q %v", buf[:n], err)
	}
}
