package blob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
)

// Info describes a stored blob.
type Info struct {
	SHA256 string // lower-case hex, 64 characters
	Size   int64
}

// ErrNotFound is returned (wrapped) by Open and Stat when there is no blob
// with the digest asked for, including when the digest is not valid.
var ErrNotFound = errors.New("blob not found")

// ErrTooLarge is returned (wrapped) by Put when the content exceeds the
// bound it was given; nothing is kept then.
var ErrTooLarge = errors.New("blob too large")

// Store keeps blobs by the SHA-256 of their content. Putting content that
// is already stored writes nothing new (deduplicated). Implementations are
// safe for concurrent use.
type Store interface {
	// Put stores r's content and returns its digest. maxBytes > 0 bounds
	// the size: more is an error wrapping ErrTooLarge and nothing is kept.
	// It returns only once the content is durable (file fsynced and
	// renamed into place; S3 PUT acknowledged); a partial write never
	// becomes visible under a digest.
	Put(ctx context.Context, r io.Reader, maxBytes int64) (Info, error)
	// Open returns the content; ErrNotFound when there is no such blob.
	Open(ctx context.Context, sha256 string) (io.ReadCloser, Info, error)
	// Stat says whether the blob exists and its size; ErrNotFound when not.
	Stat(ctx context.Context, sha256 string) (Info, error)
	// Close releases resources.
	Close() error
}

// EmptySHA256 is the digest of zero bytes.
const EmptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// ValidDigest reports whether s is a lower-case hex SHA-256 (64 chars).
// Stores refuse anything else before touching storage, so a digest taken
// from a URL or a message can never name a path outside the store.
func ValidDigest(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// checkDigest returns an error wrapping ErrNotFound that says what is
// accepted when s is not a valid digest.
func checkDigest(s string) error {
	if ValidDigest(s) {
		return nil
	}
	const most = 80 // the digest may come from anyone: don't echo a megabyte
	shown := s
	if len(shown) > most {
		shown = shown[:most] + "..."
	}
	return fmt.Errorf("blob digest %q: %w: accepted is a SHA-256 as 64 lower-case hex characters (0-9, a-f)", shown, ErrNotFound)
}

// ctxReader fails a copy as soon as its context is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// tooLarge is the error Put returns when the content exceeds maxBytes.
func tooLarge(maxBytes int64) error {
	return fmt.Errorf("blob: content exceeds the limit of %d bytes: %w", maxBytes, ErrTooLarge)
}

// copyHashed copies r to dst while hashing it, bounded by maxBytes when it
// is positive, and returns the digest and size of what was copied.
func copyHashed(ctx context.Context, dst io.Writer, r io.Reader, maxBytes int64) (Info, error) {
	h := sha256.New()
	src := io.Reader(ctxReader{ctx: ctx, r: r})
	if maxBytes > 0 {
		src = io.LimitReader(src, maxBytes+1) // one byte more tells "too large"
	}
	n, err := io.Copy(io.MultiWriter(dst, h), src)
	if err != nil {
		return Info{}, fmt.Errorf("blob: read content: %w", err)
	}
	if maxBytes > 0 && n > maxBytes {
		return Info{}, tooLarge(maxBytes)
	}
	return Info{SHA256: hex.EncodeToString(h.Sum(nil)), Size: n}, nil
}
