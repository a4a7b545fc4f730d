package blob

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/minio/minio-go/v7"
)

const testBucket = "kubedesk-blobs"

// s3Server serves an in-memory S3 over a real listener and returns its
// host:port, with testBucket created.
func s3Server(t *testing.T) (endpoint string, backend *s3mem.Backend) {
	t.Helper()
	backend = s3mem.New()
	if err := backend.CreateBucket(testBucket); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://"), backend
}

func newS3Harness(t *testing.T) harness {
	endpoint, _ := s3Server(t)
	dataDir := t.TempDir()
	url := "s3://AKIDEXAMPLE:wJalrXUtnFEMI@" + testBucket + "/tenants/acme?endpoint=" + endpoint + "&insecure=true&region=us-east-1"
	st, err := Open(context.Background(), "--blob-url", url, dataDir)
	if err != nil {
		t.Fatal(err)
	}
	s := st.(*S3)
	return harness{
		store:  s,
		tmpDir: filepath.Join(dataDir, "blobs", "tmp"),
		count: func(t *testing.T) int {
			t.Helper()
			n := 0
			for obj := range s.client.ListObjects(context.Background(), testBucket, minio.ListObjectsOptions{Recursive: true}) {
				if obj.Err != nil {
					t.Fatalf("list objects: %v", obj.Err)
				}
				if !strings.HasPrefix(obj.Key, "tenants/acme/sha256/") {
					t.Errorf("object key %q is outside tenants/acme/sha256/", obj.Key)
				}
				n++
			}
			return n
		},
	}
}

func TestS3Contract(t *testing.T) {
	runContract(t, newS3Harness)
}

func TestS3Key(t *testing.T) {
	h := newS3Harness(t)
	info := mustPut(t, h.store, []byte("abc"))
	s := h.store.(*S3)
	want := "tenants/acme/sha256/" + info.SHA256
	if got := s.Key(info.SHA256); got != want {
		t.Errorf("Key = %q, want %q", got, want)
	}
	if _, err := s.client.StatObject(context.Background(), testBucket, want, minio.StatObjectOptions{}); err != nil {
		t.Errorf("object %s: %v", want, err)
	}
}
