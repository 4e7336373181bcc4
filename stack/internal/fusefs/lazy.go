package fusefs

import (
	"fmt"
	"sync"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
)

// undo restores what one write changed: the bytes it overwrote and the size
// the file had before it.
type undo struct {
	off     int64
	old     []byte
	oldSize int64
}

// dirty is a file with writes since its last successful fsync. fd is our own
// read-write descriptor of the backing file, so the undo reaches the file even
// after it was renamed or every handle of the application was closed.
type dirty struct {
	fd    int
	inode *fs.Inode
	undos []undo
}

// Lazy keeps every write since the last successful fsync/fdatasync of its
// file revocable: writes reach the backing file at once (so reads, mmap and
// size are those of a normal file system), and an undo record of what each
// overwrote is kept until the file is synced. PowerLoss applies the undo
// records last-first: what a real power cut would lose with a volatile
// cache. Metadata operations (create, rename, unlink, truncate) are durable
// at once; a file created and written but never synced ends up empty.
type Lazy struct {
	mu    sync.Mutex
	files map[uint64]*dirty
}

// NewLazy returns an empty undo log.
func NewLazy() *Lazy { return &Lazy{files: map[uint64]*dirty{}} }

// Write records the undo of writing len(data) bytes at off into the file
// (inode ino, open as fd), then runs write; the undo is dropped when nothing
// was written. It holds the log's lock across both, so concurrent writes to
// one file cannot interleave between reading the old bytes and writing.
func (l *Lazy) Write(ino uint64, inode *fs.Inode, fd int, data []byte, off int64, write func() (int, syscall.Errno)) (int, syscall.Errno) {
	l.mu.Lock()
	defer l.mu.Unlock()
	d := l.files[ino]
	if d == nil {
		// Our own read-write descriptor of the file (the application's may be write-only).
		rw, err := syscall.Open(fmt.Sprintf("/proc/self/fd/%d", fd), syscall.O_RDWR|syscall.O_CLOEXEC, 0)
		if err != nil {
			return 0, errnoOf(err)
		}
		d = &dirty{fd: rw, inode: inode}
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(d.fd, &st); err != nil {
		l.drop(ino, d)
		return 0, errnoOf(err)
	}
	u := undo{off: off, oldSize: st.Size}
	if off < st.Size {
		u.old = make([]byte, min(int64(len(data)), st.Size-off))
		got, err := syscall.Pread(d.fd, u.old, off)
		if err != nil {
			l.drop(ino, d)
			return 0, errnoOf(err)
		}
		u.old = u.old[:got]
	}
	n, errno := write()
	if n > 0 {
		d.undos = append(d.undos, u)
	}
	if len(d.undos) > 0 {
		l.files[ino] = d
	} else {
		l.drop(ino, d)
	}
	return n, errno
}

// drop forgets a file with nothing to undo (lock held).
func (l *Lazy) drop(ino uint64, d *dirty) {
	if len(d.undos) == 0 {
		_ = syscall.Close(d.fd)
		delete(l.files, ino)
	}
}

// Mark returns how many undo records the file has now (taken before an fsync).
func (l *Lazy) Mark(ino uint64) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if d := l.files[ino]; d != nil {
		return len(d.undos)
	}
	return 0
}

// Synced drops the first n undo records of the file: they were made durable
// by an fsync that started after them.
func (l *Lazy) Synced(ino uint64, n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	d := l.files[ino]
	if d == nil {
		return
	}
	d.undos = d.undos[min(n, len(d.undos)):]
	if len(d.undos) == 0 {
		_ = syscall.Close(d.fd)
		delete(l.files, ino)
	}
}

// ForgetUnlinked drops the undo records of every file whose last name is gone
// and returns how many it dropped. Unlink is durable at once, so a power cut
// cannot bring such a file back, and each dirty file holds a descriptor: a
// stack that writes files, cannot sync them (io-error on fsync) and deletes
// them would otherwise run the layer out of descriptors.
func (l *Lazy) ForgetUnlinked() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for ino, d := range l.files {
		var st syscall.Stat_t
		if err := syscall.Fstat(d.fd, &st); err == nil && st.Nlink == 0 {
			_ = syscall.Close(d.fd)
			delete(l.files, ino)
			n++
		}
	}
	return n
}

// Pending is the number of files and writes not yet synced.
func (l *Lazy) Pending() (files, writes int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, d := range l.files {
		files++
		writes += len(d.undos)
	}
	return files, writes
}

// LossReport says what a power cut dropped.
type LossReport struct {
	Files, Writes int
	Errors        []string
}

// PowerLoss drops every write not yet synced and tells the kernel to forget
// the cached pages of those files.
func (l *Lazy) PowerLoss() LossReport {
	l.mu.Lock()
	files := l.files
	l.files = map[uint64]*dirty{}
	var rep LossReport
	var inodes []*fs.Inode
	for ino, d := range files {
		rep.Files++
		rep.Writes += len(d.undos)
		for i := len(d.undos) - 1; i >= 0; i-- {
			u := d.undos[i]
			if err := syscall.Ftruncate(d.fd, u.oldSize); err != nil {
				rep.Errors = append(rep.Errors, fmt.Sprintf("ino %d: truncate: %v", ino, err))
			}
			if len(u.old) > 0 {
				if _, err := syscall.Pwrite(d.fd, u.old, u.off); err != nil {
					rep.Errors = append(rep.Errors, fmt.Sprintf("ino %d: restore: %v", ino, err))
				}
			}
		}
		_ = syscall.Close(d.fd)
		if d.inode != nil {
			inodes = append(inodes, d.inode)
		}
	}
	l.mu.Unlock()
	// Outside the lock: the kernel may call back into the file system.
	for _, in := range inodes {
		_ = in.NotifyContent(0, 0)
	}
	return rep
}

func errnoOf(err error) syscall.Errno {
	if e, ok := err.(syscall.Errno); ok {
		return e
	}
	return syscall.EIO
}
