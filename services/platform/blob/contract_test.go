package blob

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// harness is one Store under test and what the contract checks look at
// from the outside.
type harness struct {
	store Store
	// tmpDir is where the store keeps content before it is stored.
	tmpDir string
	// count returns how many blobs (files, objects) the store holds.
	count func(t *testing.T) int
}

// runContract runs the Store contract on stores made by newHarness, a
// fresh empty one per case.
func runContract(t *testing.T, newHarness func(t *testing.T) harness) {
	ctx := context.Background()
	big := make([]byte, 5<<20)
	if _, err := rand.Read(big); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		run  func(t *testing.T, h harness)
	}{
		{"round trip", func(t *testing.T, h harness) {
			content := []byte("Hello, attachment.\n")
			info := mustPut(t, h.store, content)
			checkStored(t, h.store, info, content)
		}},
		{"dedup", func(t *testing.T, h harness) {
			content := []byte("the same logo in every signature")
			first := mustPut(t, h.store, content)
			second := mustPut(t, h.store, content)
			if first != second {
				t.Errorf("second Put = %+v, want %+v", second, first)
			}
			if n := h.count(t); n != 1 {
				t.Errorf("store holds %d blobs after putting the same content twice, want 1", n)
			}
		}},
		{"empty blob", func(t *testing.T, h harness) {
			info := mustPut(t, h.store, nil)
			if info.SHA256 != EmptySHA256 || info.Size != 0 {
				t.Errorf("Put(empty) = %+v, want {%s 0}", info, EmptySHA256)
			}
			checkStored(t, h.store, info, nil)
		}},
		{"too large in memory", func(t *testing.T, h harness) {
			checkTooLarge(t, h, bytes.Repeat([]byte("x"), 11), 10)
		}},
		{"too large spooled", func(t *testing.T, h harness) {
			checkTooLarge(t, h, big[:3<<20], 2<<20)
		}},
		{"exactly at the limit", func(t *testing.T, h harness) {
			content := bytes.Repeat([]byte("y"), 10)
			info, err := h.store.Put(ctx, bytes.NewReader(content), 10)
			if err != nil {
				t.Fatalf("Put of 10 bytes with limit 10: %v", err)
			}
			checkStored(t, h.store, info, content)
		}},
		{"cancelled context keeps nothing", func(t *testing.T, h harness) {
			cctx, cancel := context.WithCancel(ctx)
			cancel()
			if _, err := h.store.Put(cctx, bytes.NewReader([]byte("late")), 0); !errors.Is(err, context.Canceled) {
				t.Errorf("Put with a cancelled context: err = %v, want context.Canceled", err)
			}
			checkEmpty(t, h)
		}},
		{"failing reader keeps nothing", func(t *testing.T, h harness) {
			r := io.MultiReader(bytes.NewReader(big[:2<<20]), errReader{})
			if _, err := h.store.Put(ctx, r, 0); !errors.Is(err, errBroken) {
				t.Errorf("Put from a failing reader: err = %v, want %v", err, errBroken)
			}
			checkEmpty(t, h)
		}},
		{"absent blob", func(t *testing.T, h harness) {
			sum := sha256.Sum256([]byte("never stored"))
			digest := hex.EncodeToString(sum[:])
			if _, err := h.store.Stat(ctx, digest); !errors.Is(err, ErrNotFound) {
				t.Errorf("Stat(absent) err = %v, want ErrNotFound", err)
			}
			if _, _, err := h.store.Open(ctx, digest); !errors.Is(err, ErrNotFound) {
				t.Errorf("Open(absent) err = %v, want ErrNotFound", err)
			}
		}},
		{"invalid digests refused", func(t *testing.T, h harness) {
			info := mustPut(t, h.store, []byte("stored"))
			for _, digest := range []string{
				"../../etc/passwd",
				"", strings.ToUpper(info.SHA256),
				info.SHA256[:63], info.SHA256 + "0",
				"../" + info.SHA256[3:],
				info.SHA256[:2] + "/" + info.SHA256[3:],
				strings.Repeat("g", 64),
			} {
				if _, err := h.store.Stat(ctx, digest); !errors.Is(err, ErrNotFound) {
					t.Errorf("Stat(%q) err = %v, want ErrNotFound", digest, err)
				}
				if rc, _, err := h.store.Open(ctx, digest); !errors.Is(err, ErrNotFound) {
					if rc != nil {
						rc.Close()
					}
					t.Errorf("Open(%q) err = %v, want ErrNotFound", digest, err)
				}
			}
		}},
		{"concurrent puts of the same content", func(t *testing.T, h harness) {
			content := big[:256<<10]
			const n = 8
			infos := make([]Info, n)
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					infos[i], errs[i] = h.store.Put(ctx, bytes.NewReader(content), 0)
				})
			}
			wg.Wait()
			for i := range n {
				if errs[i] != nil {
					t.Fatalf("Put %d: %v", i, errs[i])
				}
				if infos[i] != infos[0] {
					t.Errorf("Put %d = %+v, want %+v", i, infos[i], infos[0])
				}
			}
			if c := h.count(t); c != 1 {
				t.Errorf("store holds %d blobs, want 1", c)
			}
			checkStored(t, h.store, infos[0], content)
			checkNoTemps(t, h)
		}},
		{"5 MiB blob", func(t *testing.T, h harness) {
			info := mustPut(t, h.store, big)
			checkStored(t, h.store, info, big)
			checkNoTemps(t, h)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			t.Cleanup(func() {
				if err := h.store.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tt.run(t, h)
		})
	}
}

var errBroken = errors.New("connection reset by the client")

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errBroken }

func mustPut(t *testing.T, s Store, content []byte) Info {
	t.Helper()
	info, err := s.Put(context.Background(), bytes.NewReader(content), 0)
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	sum := sha256.Sum256(content)
	want := Info{SHA256: hex.EncodeToString(sum[:]), Size: int64(len(content))}
	if info != want {
		t.Fatalf("Put = %+v, want %+v", info, want)
	}
	return info
}

// checkStored checks that Stat and Open return info and content.
func checkStored(t *testing.T, s Store, info Info, content []byte) {
	t.Helper()
	ctx := context.Background()
	got, err := s.Stat(ctx, info.SHA256)
	if err != nil || got != info {
		t.Fatalf("Stat = %+v, %v; want %+v", got, err, info)
	}
	rc, got, err := s.Open(ctx, info.SHA256)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer rc.Close()
	if got != info {
		t.Errorf("Open info = %+v, want %+v", got, info)
	}
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if !bytes.Equal(data, content) {
		t.Errorf("Open read %d bytes that differ from the %d put", len(data), len(content))
	}
}

// checkTooLarge puts content over limit and checks that nothing is kept.
func checkTooLarge(t *testing.T, h harness, content []byte, limit int64) {
	t.Helper()
	_, err := h.store.Put(context.Background(), bytes.NewReader(content), limit)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Put(%d bytes, limit %d) err = %v, want ErrTooLarge", len(content), limit, err)
	}
	want := "blob: content exceeds the limit of " + strconv.FormatInt(limit, 10) + " bytes: blob too large"
	if err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
	sum := sha256.Sum256(content)
	if _, err := h.store.Stat(context.Background(), hex.EncodeToString(sum[:])); !errors.Is(err, ErrNotFound) {
		t.Errorf("Stat after ErrTooLarge: err = %v, want ErrNotFound", err)
	}
	checkEmpty(t, h)
}

// checkEmpty checks that the store holds no blob and no temporary file.
func checkEmpty(t *testing.T, h harness) {
	t.Helper()
	if n := h.count(t); n != 0 {
		t.Errorf("store holds %d blobs, want 0", n)
	}
	checkNoTemps(t, h)
}

func checkNoTemps(t *testing.T, h harness) {
	t.Helper()
	entries, err := os.ReadDir(h.tmpDir)
	if err != nil {
		t.Fatalf("read temporary directory: %v", err)
	}
	for _, e := range entries {
		t.Errorf("temporary file left behind: %s", e.Name())
	}
}
