package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// staleTemp is how old a file in <dir>/tmp must be before NewFS removes it
// as the leftover of a Put that crashed: far longer than any Put takes, so
// another process sharing the directory never loses a write in progress.
const staleTemp = 24 * time.Hour

// FS is the filesystem Store: <dir>/sha256/ab/cd/<digest>, written through
// <dir>/tmp. It is safe for concurrent use, also by several processes
// sharing dir.
type FS struct {
	dir string
}

var _ Store = (*FS)(nil)

// NewFS opens (creating if needed) a filesystem store in dir and removes
// temporary files that crashed Puts left there more than a day ago.
func NewFS(dir string) (*FS, error) {
	if dir == "" {
		return nil, errors.New("blob directory: is empty; name a directory")
	}
	for _, sub := range []string{"sha256", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o750); err != nil {
			return nil, fmt.Errorf("blob directory %q: %w", dir, err)
		}
	}
	removeStaleTemps(filepath.Join(dir, "tmp"), "put-", time.Now().Add(-staleTemp))
	return &FS{dir: dir}, nil
}

// Dir returns the directory the store keeps its blobs in.
func (s *FS) Dir() string { return s.dir }

// Path returns the file that holds the blob with the given digest (which
// need not exist); ok is false when digest is not valid.
func (s *FS) Path(digest string) (path string, ok bool) {
	if !ValidDigest(digest) {
		return "", false
	}
	return filepath.Join(s.dir, "sha256", digest[0:2], digest[2:4], digest), true
}

// Put implements Store.
func (s *FS) Put(ctx context.Context, r io.Reader, maxBytes int64) (Info, error) {
	tmp, err := os.CreateTemp(filepath.Join(s.dir, "tmp"), "put-*")
	if err != nil {
		return Info{}, fmt.Errorf("blob: create temporary file: %w", err)
	}
	tmpName := tmp.Name()
	renamed := false
	defer func() {
		if tmp != nil {
			_ = tmp.Close()
		}
		if !renamed {
			_ = os.Remove(tmpName)
		}
	}()
	info, err := copyHashed(ctx, tmp, r, maxBytes)
	if err != nil {
		return Info{}, err
	}
	final, _ := s.Path(info.SHA256)
	if fi, err := os.Stat(final); err == nil && fi.Mode().IsRegular() && fi.Size() == info.Size {
		// Deduplicated. The directory is fsynced anyway: a concurrent Put
		// may have renamed the file in but not yet made the rename durable.
		if err := syncDir(filepath.Dir(final)); err != nil {
			return Info{}, err
		}
		return info, nil
	}
	if err := tmp.Sync(); err != nil {
		return Info{}, fmt.Errorf("blob: fsync %s: %w", tmpName, err)
	}
	closeErr := tmp.Close()
	tmp = nil
	if closeErr != nil {
		return Info{}, fmt.Errorf("blob: close %s: %w", tmpName, closeErr)
	}
	if err := mkdirSynced(filepath.Join(s.dir, "sha256"), info.SHA256[0:2], info.SHA256[2:4]); err != nil {
		return Info{}, err
	}
	// Rename replaces atomically: a concurrent Put of the same content
	// renames identical bytes over it, and a reader sees one or the other.
	if err := os.Rename(tmpName, final); err != nil {
		return Info{}, fmt.Errorf("blob: rename into place: %w", err)
	}
	renamed = true
	if err := syncDir(filepath.Dir(final)); err != nil {
		return Info{}, err
	}
	return info, nil
}

// Open implements Store.
func (s *FS) Open(ctx context.Context, digest string) (io.ReadCloser, Info, error) {
	if err := checkDigest(digest); err != nil {
		return nil, Info{}, err
	}
	if err := ctx.Err(); err != nil {
		return nil, Info{}, err
	}
	path, _ := s.Path(digest)
	f, err := os.Open(path)
	if err != nil {
		return nil, Info{}, s.notFound(digest, err)
	}
	fi, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, Info{}, fmt.Errorf("blob %s: %w", digest, err)
	}
	if !fi.Mode().IsRegular() {
		_ = f.Close()
		return nil, Info{}, fmt.Errorf("blob %s: %s is not a regular file", digest, path)
	}
	return f, Info{SHA256: digest, Size: fi.Size()}, nil
}

// Stat implements Store.
func (s *FS) Stat(ctx context.Context, digest string) (Info, error) {
	if err := checkDigest(digest); err != nil {
		return Info{}, err
	}
	if err := ctx.Err(); err != nil {
		return Info{}, err
	}
	path, _ := s.Path(digest)
	fi, err := os.Stat(path)
	if err != nil {
		return Info{}, s.notFound(digest, err)
	}
	if !fi.Mode().IsRegular() {
		return Info{}, fmt.Errorf("blob %s: %s is not a regular file", digest, path)
	}
	return Info{SHA256: digest, Size: fi.Size()}, nil
}

// Close implements Store; the filesystem store holds nothing open.
func (s *FS) Close() error { return nil }

// notFound maps a missing file to ErrNotFound and wraps other errors.
func (s *FS) notFound(digest string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("blob %s: %w", digest, ErrNotFound)
	}
	return fmt.Errorf("blob %s: %w", digest, err)
}

// removeStaleTemps deletes the files in dir whose names start with prefix
// and that were last written before cutoff.
func removeStaleTemps(dir, prefix string, cutoff time.Time) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		slog.Warn("blob: list temporary files", "dir", dir, "error", err)
		return
	}
	for _, e := range entries {
		if !e.Type().IsRegular() || !strings.HasPrefix(e.Name(), prefix) {
			continue
		}
		fi, err := e.Info()
		if err != nil || fi.ModTime().After(cutoff) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			slog.Warn("blob: remove stale temporary file", "file", e.Name(), "error", err)
		}
	}
}

// mkdirSynced creates base/elems... one level at a time and fsyncs the
// parent of each directory it creates, so the new entries survive a crash.
func mkdirSynced(base string, elems ...string) error {
	dir := base
	for _, e := range elems {
		parent := dir
		dir = filepath.Join(dir, e)
		err := os.Mkdir(dir, 0o750)
		switch {
		case err == nil:
			if err := syncDir(parent); err != nil {
				return err
			}
		case errors.Is(err, fs.ErrExist):
		default:
			return fmt.Errorf("blob: create directory: %w", err)
		}
	}
	return nil
}

// syncDir fsyncs a directory so that a rename or create in it is durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("blob: open directory for fsync: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("blob: fsync directory %s: %w", dir, err)
	}
	return nil
}
