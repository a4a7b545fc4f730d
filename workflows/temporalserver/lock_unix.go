//go:build unix

package temporalserver

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockFile in a DataDir is held (flock) by the Server using that directory.
const lockFile = "temporal.lock"

// lockDataDir takes an exclusive lock on dir, so that two servers never run
// on one database: each would own the single history shard and they would
// fence each other out. The lock is an flock on dir/temporal.lock: held per
// open file, so it also excludes a second Server in this process, and
// released by the kernel when the process dies, so a restart after a crash
// finds it free.
func lockDataDir(dir string) (unlock func() error, err error) {
	path := filepath.Join(dir, lockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("in use by another Temporal server (%s is locked)", path)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	// Closing the file releases the lock.
	return f.Close, nil
}
