package blob

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func newFSHarness(t *testing.T) harness {
	dir := t.TempDir()
	s, err := Open(context.Background(), "--blob-url", "", dir)
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(dir, "blobs")
	return harness{
		store:  s,
		tmpDir: filepath.Join(root, "tmp"),
		count:  func(t *testing.T) int { return countFiles(t, filepath.Join(root, "sha256")) },
	}
}

func countFiles(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			n++
		}
		return err
	})
	if err != nil {
		t.Fatalf("walk %s: %v", dir, err)
	}
	return n
}

func TestFSContract(t *testing.T) {
	runContract(t, newFSHarness)
}

func TestFSLayout(t *testing.T) {
	dir := t.TempDir()
	s, err := NewFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	info := mustPut(t, s, []byte("abc"))
	// SHA-256("abc") = ba7816bf...
	want := filepath.Join(dir, "sha256", "ba", "78", info.SHA256)
	if fi, err := os.Stat(want); err != nil || fi.Size() != 3 {
		t.Fatalf("blob not at %s: %v", want, err)
	}
	if p, ok := s.Path(info.SHA256); !ok || p != want {
		t.Errorf("Path = %q, %v; want %q, true", p, ok, want)
	}
	if _, ok := s.Path("../../etc/passwd"); ok {
		t.Error("Path accepted ../../etc/passwd")
	}
}

func TestFSRemovesStaleTemps(t *testing.T) {
	dir := t.TempDir()
	if _, err := NewFS(dir); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(dir, "tmp")
	for name, age := range map[string]time.Duration{
		"put-stale": 25 * time.Hour,  // a crashed Put's leftover
		"put-fresh": time.Minute,     // maybe another process's Put in progress
		"unrelated": 100 * time.Hour, // not ours
	} {
		p := filepath.Join(tmp, name)
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		old := time.Now().Add(-age)
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := NewFS(dir); err != nil {
		t.Fatal(err)
	}
	var left []string
	entries, _ := os.ReadDir(tmp)
	for _, e := range entries {
		left = append(left, e.Name())
	}
	if len(left) != 2 || left[0] != "put-fresh" || left[1] != "unrelated" {
		t.Errorf("temporary directory holds %v, want [put-fresh unrelated]", left)
	}
}

func TestFSReplacesDamagedBlob(t *testing.T) {
	s, err := NewFS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	content := []byte("original")
	info := mustPut(t, s, content)
	p, _ := s.Path(info.SHA256)
	if err := os.WriteFile(p, []byte("trunc"), 0o600); err != nil { // size differs
		t.Fatal(err)
	}
	mustPut(t, s, content)
	checkStored(t, s, info, content)
}

func TestNewFSEmptyDir(t *testing.T) {
	_, err := NewFS("")
	if want := "blob directory: is empty; name a directory"; err == nil || err.Error() != want {
		t.Errorf("NewFS(\"\") err = %v, want %q", err, want)
	}
}

// BenchmarkPut measures durable Puts of distinct 1 MiB blobs on the
// filesystem store (hash, write, fsync, rename, fsync directory).
func BenchmarkPut(b *testing.B) {
	s, err := NewFS(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	content := make([]byte, 1<<20)
	ctx := context.Background()
	b.SetBytes(int64(len(content)))
	for i := 0; b.Loop(); i++ {
		// Distinct content each time: a duplicate would skip the write.
		content[0], content[1], content[2], content[3] = byte(i), byte(i>>8), byte(i>>16), byte(i>>24)
		if _, err := s.Put(ctx, bytes.NewReader(content), 0); err != nil {
			b.Fatal(err)
		}
	}
}
