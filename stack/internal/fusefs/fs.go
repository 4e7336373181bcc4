package fusefs

import (
	"context"
	"fmt"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// FS is the shared state of one mount: the injector and the undo log (nil
// when writes are not kept revocable).
type FS struct {
	Inject *Injector
	Lazy   *Lazy
}

// node is go-fuse's maintained loopback node, with Open/Create wrapped so
// that file handles go through the injector and the undo log.
type node struct {
	*fs.LoopbackNode
	fsys *FS
}

var (
	_ fs.NodeWrapChilder = (*node)(nil)
	_ fs.NodeOpener      = (*node)(nil)
	_ fs.NodeCreater     = (*node)(nil)
	_ fs.NodeUnlinker    = (*node)(nil)
	_ fs.NodeRenamer     = (*node)(nil)
)

func (n *node) WrapChild(_ context.Context, ops fs.InodeEmbedder) fs.InodeEmbedder {
	return &node{LoopbackNode: ops.(*fs.LoopbackNode), fsys: n.fsys}
}

func (n *node) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	fh, fl, errno := n.LoopbackNode.Open(ctx, flags)
	if errno != 0 {
		return nil, 0, errno
	}
	return n.wrap(fh), fl, 0
}

func (n *node) Create(ctx context.Context, name string, flags, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	in, fh, fl, errno := n.LoopbackNode.Create(ctx, name, flags, mode, out)
	if errno != 0 {
		return nil, nil, 0, errno
	}
	return in, in.Operations().(*node).wrap(fh), fl, 0
}

// Unlink and Rename (which may replace a file) can remove a file's last name:
// the undo log then forgets it (Lazy.ForgetUnlinked).
func (n *node) Unlink(ctx context.Context, name string) syscall.Errno {
	errno := n.LoopbackNode.Unlink(ctx, name)
	if errno == 0 && n.fsys.Lazy != nil {
		n.fsys.Lazy.ForgetUnlinked()
	}
	return errno
}

func (n *node) Rename(ctx context.Context, name string, newParent fs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	errno := n.LoopbackNode.Rename(ctx, name, newParent, newName, flags)
	if errno == 0 && n.fsys.Lazy != nil {
		n.fsys.Lazy.ForgetUnlinked()
	}
	return errno
}

func (n *node) wrap(fh fs.FileHandle) fs.FileHandle {
	return &file{lf: fh.(*fs.LoopbackFile), n: n}
}

// file delegates to go-fuse's LoopbackFile. It deliberately does not
// implement FilePassthroughFder: kernel pass-through would bypass the faults.
type file struct {
	lf *fs.LoopbackFile
	n  *node
}

var (
	_ fs.FileReader    = (*file)(nil)
	_ fs.FileWriter    = (*file)(nil)
	_ fs.FileFsyncer   = (*file)(nil)
	_ fs.FileFlusher   = (*file)(nil)
	_ fs.FileReleaser  = (*file)(nil)
	_ fs.FileGetattrer = (*file)(nil)
	_ fs.FileSetattrer = (*file)(nil)
	_ fs.FileLseeker   = (*file)(nil)
	_ fs.FileAllocater = (*file)(nil)
	_ fs.FileGetlker   = (*file)(nil)
	_ fs.FileSetlker   = (*file)(nil)
	_ fs.FileSetlkwer  = (*file)(nil)
)

func (f *file) fd() int {
	fd, _ := f.lf.PassthroughFd()
	return fd
}

func (f *file) ino() uint64 { return f.n.EmbeddedInode().StableAttr().Ino }

func (f *file) Read(ctx context.Context, buf []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	if e := f.n.fsys.Inject.Before(OpRead); e != 0 {
		return nil, e
	}
	return f.lf.Read(ctx, buf, off)
}

func (f *file) Write(ctx context.Context, data []byte, off int64) (uint32, syscall.Errno) {
	if e := f.n.fsys.Inject.Before(OpWrite); e != 0 {
		return 0, e
	}
	if f.n.fsys.Lazy == nil {
		return f.lf.Write(ctx, data, off)
	}
	n, errno := f.n.fsys.Lazy.Write(f.ino(), f.n.EmbeddedInode(), f.fd(), data, off, func() (int, syscall.Errno) {
		n, e := f.lf.Write(ctx, data, off)
		return int(n), e
	})
	return uint32(n), errno
}

func (f *file) Fsync(ctx context.Context, flags uint32) syscall.Errno {
	if e := f.n.fsys.Inject.Before(OpFsync); e != 0 {
		return e
	}
	mark := 0
	if f.n.fsys.Lazy != nil {
		mark = f.n.fsys.Lazy.Mark(f.ino())
	}
	if e := f.lf.Fsync(ctx, flags); e != 0 {
		return e
	}
	if f.n.fsys.Lazy != nil {
		f.n.fsys.Lazy.Synced(f.ino(), mark)
	}
	return 0
}

func (f *file) Flush(ctx context.Context) syscall.Errno   { return f.lf.Flush(ctx) }
func (f *file) Release(ctx context.Context) syscall.Errno { return f.lf.Release(ctx) }
func (f *file) Getattr(ctx context.Context, out *fuse.AttrOut) syscall.Errno {
	return f.lf.Getattr(ctx, out)
}
func (f *file) Setattr(ctx context.Context, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	return f.lf.Setattr(ctx, in, out)
}
func (f *file) Lseek(ctx context.Context, off uint64, whence uint32) (uint64, syscall.Errno) {
	return f.lf.Lseek(ctx, off, whence)
}
func (f *file) Allocate(ctx context.Context, off, size uint64, mode uint32) syscall.Errno {
	return f.lf.Allocate(ctx, off, size, mode)
}
func (f *file) Getlk(ctx context.Context, owner uint64, lk *fuse.FileLock, flags uint32, out *fuse.FileLock) syscall.Errno {
	return f.lf.Getlk(ctx, owner, lk, flags, out)
}
func (f *file) Setlk(ctx context.Context, owner uint64, lk *fuse.FileLock, flags uint32) syscall.Errno {
	return f.lf.Setlk(ctx, owner, lk, flags)
}
func (f *file) Setlkw(ctx context.Context, owner uint64, lk *fuse.FileLock, flags uint32) syscall.Errno {
	return f.lf.Setlkw(ctx, owner, lk, flags)
}

// Mount mounts the fault layer over mountDir, passing through to backing.
func Mount(backing, mountDir string, fsys *FS) (*fuse.Server, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(backing, &st); err != nil {
		return nil, fmt.Errorf("backing dir %s: %w", backing, err)
	}
	root := &node{fsys: fsys, LoopbackNode: &fs.LoopbackNode{}}
	rootData := &fs.LoopbackRoot{Path: backing, Dev: st.Dev, RootNode: root}
	root.RootData = rootData
	// Short caches: after a power cut the kernel must see the restored sizes.
	ttl := 100 * time.Millisecond
	opts := &fs.Options{
		AttrTimeout:  &ttl,
		EntryTimeout: &ttl,
		MountOptions: fuse.MountOptions{
			FsName:        "ec-fusefs:" + backing,
			Name:          "ecfusefs",
			DirectMount:   true,
			AllowOther:    true,
			DisableXAttrs: true,
			// The kernel checks modes and owners itself (the layer runs as root and would otherwise
			// let any user of the node write anything it can reach).
			Options: []string{"default_permissions"},
		},
	}
	srv, err := fs.Mount(mountDir, root, opts)
	if err != nil {
		return nil, fmt.Errorf("mount %s over %s: %w", mountDir, backing, err)
	}
	return srv, nil
}
