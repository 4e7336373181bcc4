package fusefs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

const tmpfsMagic = 0x01021994

// Full makes the file system holding path (a new file the fault owns) full
// and returns how it did it. On a tmpfs it writes path (one block, so the
// disk is never empty: size=0 would mean unlimited) and shrinks the tmpfs to
// the blocks in use (one remount: no page is allocated or zeroed, so it takes
// effect at once whatever the disk's size); elsewhere it fills the disk with
// path (Fill). Either way new blocks fail with ENOSPC while blocks a file
// already holds stay writable, as on a real full disk. Release undoes it.
func Full(path string) (string, error) {
	dir := filepath.Dir(path)
	var sfs syscall.Statfs_t
	if err := syscall.Statfs(dir, &sfs); err != nil {
		return "", fmt.Errorf("full: %w", err)
	}
	if sfs.Type != tmpfsMagic {
		n, err := Fill(path)
		return fmt.Sprintf("filled %d bytes", n), err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return "", fmt.Errorf("full: %w", err)
	}
	err = syscall.Fallocate(int(f.Fd()), 0, 0, sfs.Bsize)
	f.Close()
	if err != nil && !errors.Is(err, syscall.ENOSPC) {
		return "", fmt.Errorf("full %s: %w", path, err)
	}
	// Shrinking below the blocks in use fails (EINVAL): the store may have
	// taken another block since the statfs, so read it again and retry.
	for try := 0; try < 100; try++ {
		if err := syscall.Statfs(dir, &sfs); err != nil {
			return "", fmt.Errorf("full: %w", err)
		}
		used := (int64(sfs.Blocks) - int64(sfs.Bfree)) * sfs.Bsize
		if used <= 0 {
			return "", fmt.Errorf("full %s: the disk holds no block", dir)
		}
		err = resize(dir, used)
		if err == nil {
			return fmt.Sprintf("shrunk the tmpfs to the %d bytes in use", used), nil
		}
		if !errors.Is(err, syscall.EINVAL) {
			break
		}
	}
	return "", fmt.Errorf("full %s: %w", dir, err)
}

// Release undoes Full: the tmpfs gets its size back (sizeBytes) and path goes.
func Release(path string, sizeBytes int64) error {
	dir := filepath.Dir(path)
	var sfs syscall.Statfs_t
	if err := syscall.Statfs(dir, &sfs); err != nil {
		if errors.Is(err, syscall.ENOENT) {
			return nil // the disk is gone (the deployment was torn down): nothing to release
		}
		return fmt.Errorf("release: %w", err)
	}
	if sfs.Type == tmpfsMagic {
		if sizeBytes <= 0 {
			return fmt.Errorf("release %s: size %d is not positive (0 would make the tmpfs unlimited)", dir, sizeBytes)
		}
		if err := resize(dir, sizeBytes); err != nil {
			return fmt.Errorf("release %s: %w", dir, err)
		}
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("release: %w", err)
	}
	return nil
}

// resize sets the size of the tmpfs mounted at dir (other options unchanged).
func resize(dir string, bytes int64) error {
	return syscall.Mount("", dir, "", syscall.MS_REMOUNT, "size="+strconv.FormatInt(bytes, 10))
}
