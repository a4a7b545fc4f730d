package blob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// spoolInMemory is the largest content Put hashes in memory before it
// uploads; larger content is spooled to a temporary file in SpoolDir.
const spoolInMemory = 1 << 20

// spoolPrefix starts the names of Put's temporary files for S3.
const spoolPrefix = "s3put-"

// S3 is the Store on S3-compatible object storage: one object per blob,
// key <prefix>/sha256/<digest>. It is safe for concurrent use.
type S3 struct {
	client   *minio.Client
	bucket   string
	prefix   string // "" or ending in "/"
	spoolDir string
}

var _ Store = (*S3)(nil)

// NewS3 connects to the bucket cfg names and checks that it exists, and
// removes spool files that crashed Puts left in SpoolDir more than a day
// ago. Its errors never contain the secret key.
func NewS3(ctx context.Context, cfg S3Config) (*S3, error) {
	endpoint, secure := cfg.Endpoint, !cfg.Insecure
	if endpoint == "" {
		endpoint = "s3.amazonaws.com"
	}
	region := cfg.Region
	if region == "" {
		region = "us-east-1"
	}
	client, err := minio.New(endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(cfg.AccessKeyID, cfg.SecretAccessKey, cfg.SessionToken),
		Secure: secure,
		Region: region,
	})
	if err != nil {
		return nil, fmt.Errorf("S3 endpoint %q: %w", endpoint, err)
	}
	ok, err := client.BucketExists(ctx, cfg.Bucket)
	if err != nil {
		return nil, fmt.Errorf("check bucket %q at %s: %w", cfg.Bucket, endpoint, err)
	}
	if !ok {
		return nil, fmt.Errorf("bucket %q does not exist at %s; create it first", cfg.Bucket, endpoint)
	}
	spoolDir := cfg.SpoolDir
	if spoolDir == "" {
		spoolDir = os.TempDir()
	}
	if err := os.MkdirAll(spoolDir, 0o750); err != nil {
		return nil, fmt.Errorf("blob spool directory %q: %w", spoolDir, err)
	}
	removeStaleTemps(spoolDir, spoolPrefix, time.Now().Add(-staleTemp))
	prefix := ""
	if cfg.Prefix != "" {
		prefix = cfg.Prefix + "/"
	}
	return &S3{client: client, bucket: cfg.Bucket, prefix: prefix, spoolDir: spoolDir}, nil
}

// Key returns the object key of the blob with the given digest.
func (s *S3) Key(digest string) string {
	return s.prefix + path.Join("sha256", digest)
}

// Put implements Store: it hashes the content first (in memory up to
// 1 MiB, else in a temporary file), skips the upload when the object
// exists, and otherwise uploads it with its length.
func (s *S3) Put(ctx context.Context, r io.Reader, maxBytes int64) (Info, error) {
	sp := &spool{dir: s.spoolDir, limit: spoolInMemory}
	defer sp.release()
	info, err := copyHashed(ctx, sp, r, maxBytes)
	if err != nil {
		return Info{}, err
	}
	if got, err := s.Stat(ctx, info.SHA256); err == nil && got.Size == info.Size {
		return info, nil // deduplicated
	} else if err != nil && !errors.Is(err, ErrNotFound) {
		return Info{}, err
	}
	body, err := sp.reader()
	if err != nil {
		return Info{}, err
	}
	opts := minio.PutObjectOptions{ContentType: "application/octet-stream"}
	// Over plain HTTP minio-go signs the payload in aws-chunked streaming
	// form, which for zero bytes goes out without a Content-Length (S3
	// answers MissingContentLength); an empty body has nothing to sign.
	opts.DisableContentSha256 = info.Size == 0
	_, err = s.client.PutObject(ctx, s.bucket, s.Key(info.SHA256), body, info.Size, opts)
	if err != nil {
		return Info{}, fmt.Errorf("blob %s: upload: %w", info.SHA256, err)
	}
	return info, nil
}

// Open implements Store.
func (s *S3) Open(ctx context.Context, digest string) (io.ReadCloser, Info, error) {
	if err := checkDigest(digest); err != nil {
		return nil, Info{}, err
	}
	obj, err := s.client.GetObject(ctx, s.bucket, s.Key(digest), minio.GetObjectOptions{})
	if err != nil {
		return nil, Info{}, s.mapErr(digest, err)
	}
	st, err := obj.Stat()
	if err != nil {
		_ = obj.Close()
		return nil, Info{}, s.mapErr(digest, err)
	}
	return obj, Info{SHA256: digest, Size: st.Size}, nil
}

// Stat implements Store.
func (s *S3) Stat(ctx context.Context, digest string) (Info, error) {
	if err := checkDigest(digest); err != nil {
		return Info{}, err
	}
	st, err := s.client.StatObject(ctx, s.bucket, s.Key(digest), minio.StatObjectOptions{})
	if err != nil {
		return Info{}, s.mapErr(digest, err)
	}
	return Info{SHA256: digest, Size: st.Size}, nil
}

// Close implements Store; the client's idle connections are shared and
// closed by the HTTP transport.
func (s *S3) Close() error { return nil }

// mapErr turns S3's "no such key" into ErrNotFound and wraps the rest.
func (s *S3) mapErr(digest string, err error) error {
	resp := minio.ToErrorResponse(err)
	if resp.Code == minio.NoSuchKey || resp.StatusCode == http.StatusNotFound && resp.Code != minio.NoSuchBucket {
		return fmt.Errorf("blob %s: %w", digest, ErrNotFound)
	}
	return fmt.Errorf("blob %s: %w", digest, err)
}

// spool holds content while Put hashes it: in memory up to limit bytes,
// then in a temporary file, which release removes.
type spool struct {
	dir   string
	limit int
	buf   bytes.Buffer
	file  *os.File
}

// Write implements io.Writer.
func (sp *spool) Write(p []byte) (int, error) {
	if sp.file == nil && sp.buf.Len()+len(p) <= sp.limit {
		return sp.buf.Write(p)
	}
	if sp.file == nil {
		f, err := os.CreateTemp(sp.dir, spoolPrefix+"*")
		if err != nil {
			return 0, fmt.Errorf("create spool file: %w", err)
		}
		sp.file = f
		if _, err := f.Write(sp.buf.Bytes()); err != nil {
			return 0, fmt.Errorf("write spool file: %w", err)
		}
		sp.buf = bytes.Buffer{}
	}
	return sp.file.Write(p)
}

// reader returns the spooled content from its start.
func (sp *spool) reader() (io.Reader, error) {
	if sp.file == nil {
		return bytes.NewReader(sp.buf.Bytes()), nil
	}
	if _, err := sp.file.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("rewind spool file: %w", err)
	}
	return sp.file, nil
}

// release removes the temporary file, if any.
func (sp *spool) release() {
	if sp.file != nil {
		_ = sp.file.Close()
		_ = os.Remove(sp.file.Name())
	}
}
