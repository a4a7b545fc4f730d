package blob

import (
	"context"
	"errors"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var digestRE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// FuzzDigest checks that only lower-case hex SHA-256 digests pass, that a
// passing one names a file inside the store, and that the store refuses
// every other string with ErrNotFound before touching the disk.
func FuzzDigest(f *testing.F) {
	for _, s := range []string{
		EmptySHA256, strings.ToUpper(EmptySHA256), "../../etc/passwd", "",
		EmptySHA256[:63], EmptySHA256 + "\x00", "ba/78" + EmptySHA256[5:],
	} {
		f.Add(s)
	}
	s, err := NewFS(f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, digest string) {
		valid := ValidDigest(digest)
		if valid != digestRE.MatchString(digest) {
			t.Fatalf("ValidDigest(%q) = %v", digest, valid)
		}
		p, ok := s.Path(digest)
		if ok != valid {
			t.Fatalf("Path(%q) ok = %v, want %v", digest, ok, valid)
		}
		if ok {
			rel, err := filepath.Rel(s.Dir(), p)
			if err != nil || strings.HasPrefix(rel, "..") {
				t.Fatalf("Path(%q) = %q is outside %q", digest, p, s.Dir())
			}
		}
		if _, err := s.Stat(context.Background(), digest); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Stat(%q) err = %v, want ErrNotFound", digest, err)
		}
	})
}

// FuzzParseURL checks that parsing any blob URL neither panics nor shows
// the secret key, and that what it accepts is consistent.
func FuzzParseURL(f *testing.F) {
	for _, s := range []string{
		"s3://bkt/prefix?endpoint=127.0.0.1:9000&insecure=true",
		"s3://bkt?region=us-east-1", "file:///srv/blobs", "gs://bkt", "s3://",
		"s3://bkt?endpoint=[::1]:9000", "s3://bkt/a/../b", "s3://bkt?endpoint=h:99999",
		"file://localhost/x", "s3://Bkt", "%zz", "s3://bkt?x=SECRETVALUE",
	} {
		f.Add(s)
	}
	const secret = "SECRETVALUE"
	f.Fuzz(func(t *testing.T, raw string) {
		// Put the secret where credentials go, whatever the rest is.
		withCreds := raw
		if rest, ok := strings.CutPrefix(raw, "s3://"); ok {
			withCreds = "s3://KEY:" + secret + "@" + rest
		}
		loc, err := parseURL("--blob-url", withCreds, func(string) string { return "" })
		if err != nil {
			if !strings.HasPrefix(err.Error(), "--blob-url") {
				t.Fatalf("error does not name the field: %v", err)
			}
			if strings.Contains(err.Error(), secret) && !strings.Contains(raw, secret) {
				t.Fatalf("error shows the secret: %v", err)
			}
			return
		}
		if strings.Contains(loc.shown, secret) && !strings.Contains(raw, secret) {
			t.Fatalf("shown URL has the secret: %q", loc.shown)
		}
		switch {
		case loc.s3 != nil:
			if !validBucket(loc.s3.Bucket) || checkEndpoint(loc.s3.Endpoint) != nil && loc.s3.Endpoint != "" {
				t.Fatalf("accepted %+v", *loc.s3)
			}
		case !filepath.IsAbs(loc.dir):
			t.Fatalf("accepted relative directory %q", loc.dir)
		}
	})
}
