package blob

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// accepted says which blob URLs Open takes; every URL error ends with it.
const accepted = "accepted: empty (files under the data directory), file:///absolute/path, " +
	"or s3://[KEY:SECRET@]bucket[/prefix][?endpoint=host:port&region=name&insecure=true]"

// S3Config names an S3-compatible bucket and how to reach it.
type S3Config struct {
	// Bucket is the bucket's name; it must exist.
	Bucket string
	// Prefix is prepended to every key ("" or without slashes at either end).
	Prefix string
	// Endpoint is host or host:port; "" means AWS S3 (s3.amazonaws.com).
	Endpoint string
	// Region is the bucket's region; "" means us-east-1.
	Region string
	// Insecure talks plain HTTP instead of HTTPS (a local MinIO, tests).
	Insecure bool
	// AccessKeyID and SecretAccessKey sign the requests.
	AccessKeyID     string
	SecretAccessKey string
	// SessionToken goes with temporary credentials; usually "".
	SessionToken string
	// SpoolDir holds the temporary files Put hashes large content into
	// before uploading; "" means os.TempDir().
	SpoolDir string
}

// Open opens the store named by url:
//
//	""                          -> filesystem under filepath.Join(dataDir, "blobs")
//	"file:///abs/path"          -> filesystem there
//	"s3://bucket/optional/prefix?endpoint=host:port&region=us-east-1&insecure=true"
//	                            -> S3-compatible; credentials from user info
//	                               (s3://KEY:SECRET@bucket/...) or env
//	                               AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY
//
// Errors name field (e.g. "--blob-url") and say what is accepted; secrets
// never appear in errors.
func Open(ctx context.Context, field, url, dataDir string) (Store, error) {
	if url == "" {
		if dataDir == "" {
			return nil, fmt.Errorf("%s: is empty and so is the data directory; %s", field, accepted)
		}
		s, err := NewFS(filepath.Join(dataDir, "blobs"))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", field, err)
		}
		return s, nil
	}
	loc, err := parseURL(field, url, os.Getenv)
	if err != nil {
		return nil, err
	}
	if loc.s3 == nil {
		s, err := NewFS(loc.dir)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", field, err)
		}
		return s, nil
	}
	cfg := *loc.s3
	if dataDir != "" {
		cfg.SpoolDir = filepath.Join(dataDir, "blobs", "tmp")
	}
	s, err := NewS3(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("%s %q: %w", field, loc.shown, err)
	}
	return s, nil
}

// location is a parsed blob URL: a directory, or an S3 configuration.
type location struct {
	dir   string
	s3    *S3Config
	shown string // the URL with its credentials hidden, for errors
}

// parseURL parses a non-empty blob URL; getenv reads the credentials'
// environment variables.
func parseURL(field, raw string, getenv func(string) string) (location, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" {
		// url.Parse's error repeats the URL, which may hold a secret.
		return location{}, fmt.Errorf("%s: not a valid URL; %s", field, accepted)
	}
	shown := redact(u)
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%s %q: %s; %s", field, shown, fmt.Sprintf(format, args...), accepted)
	}
	switch u.Scheme {
	case "file":
		if u.User != nil || (u.Host != "" && u.Host != "localhost") {
			return location{}, bad("a file URL names no host (file:///absolute/path)")
		}
		if u.RawQuery != "" || u.Fragment != "" {
			return location{}, bad("a file URL takes no query or fragment")
		}
		if u.Path == "" || !filepath.IsAbs(u.Path) {
			return location{}, bad("the path must be absolute")
		}
		return location{dir: filepath.Clean(u.Path), shown: shown}, nil
	case "s3":
	case "":
		return location{}, bad("no scheme")
	default:
		return location{}, bad("unknown scheme %q", u.Scheme)
	}

	cfg := &S3Config{Bucket: u.Host, Prefix: strings.Trim(u.Path, "/")}
	if cfg.Bucket == "" {
		return location{}, bad("no bucket (s3://bucket/prefix)")
	}
	if !validBucket(cfg.Bucket) {
		return location{}, bad("bucket %q is not a valid name (3 to 63 lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit)", cfg.Bucket)
	}
	if strings.Contains(cfg.Prefix, "//") || strings.Contains("/"+cfg.Prefix+"/", "/../") || strings.Contains("/"+cfg.Prefix+"/", "/./") {
		return location{}, bad("prefix %q has an empty, . or .. segment", cfg.Prefix)
	}
	if u.Fragment != "" {
		return location{}, bad("an s3 URL takes no fragment")
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return location{}, bad("query is not valid")
	}
	for k, v := range q {
		if len(v) != 1 {
			return location{}, bad("query parameter %q is given %d times; give it once", k, len(v))
		}
		switch k {
		case "endpoint":
			cfg.Endpoint = v[0]
			if err := checkEndpoint(cfg.Endpoint); err != nil {
				return location{}, bad("endpoint %q: %v", cfg.Endpoint, err)
			}
		case "region":
			cfg.Region = v[0]
			if !validRegion(cfg.Region) {
				return location{}, bad("region %q is not valid (lower-case letters, digits and hyphens, like us-east-1)", cfg.Region)
			}
		case "insecure":
			b, err := strconv.ParseBool(v[0])
			if err != nil {
				return location{}, bad("insecure %q is not true or false", v[0])
			}
			cfg.Insecure = b
		default:
			return location{}, bad("unknown query parameter %q (accepted: endpoint, region, insecure)", k)
		}
	}
	switch {
	case u.User != nil:
		secret, ok := u.User.Password()
		if u.User.Username() == "" || !ok || secret == "" {
			return location{}, bad("credentials in the URL need both key and secret (s3://KEY:SECRET@bucket)")
		}
		cfg.AccessKeyID, cfg.SecretAccessKey = u.User.Username(), secret
	case getenv("AWS_ACCESS_KEY_ID") != "" && getenv("AWS_SECRET_ACCESS_KEY") != "":
		cfg.AccessKeyID = getenv("AWS_ACCESS_KEY_ID")
		cfg.SecretAccessKey = getenv("AWS_SECRET_ACCESS_KEY")
		cfg.SessionToken = getenv("AWS_SESSION_TOKEN")
	default:
		return location{}, bad("no credentials: give s3://KEY:SECRET@bucket or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
	}
	return location{s3: cfg, shown: shown}, nil
}

// redact returns u as text with its user information and the values of
// query parameters other than endpoint, region and insecure hidden: an
// unknown parameter may be a misplaced secret.
func redact(u *url.URL) string {
	c := *u
	if c.User != nil {
		c.User = url.User("REDACTED")
	}
	if c.RawQuery != "" {
		parts := strings.Split(c.RawQuery, "&")
		for i, p := range parts {
			k, _, hasValue := strings.Cut(p, "=")
			switch k {
			case "endpoint", "region", "insecure":
			default:
				if hasValue {
					parts[i] = k + "=REDACTED"
				}
			}
		}
		c.RawQuery = strings.Join(parts, "&")
	}
	return c.String()
}

// checkEndpoint accepts host or host:port, without a scheme or path.
func checkEndpoint(ep string) error {
	if ep == "" {
		return errors.New("is empty; give host:port, or leave endpoint out for AWS S3")
	}
	if strings.Contains(ep, "://") {
		return errors.New("give host:port without a scheme (insecure=true for plain HTTP)")
	}
	host, port := ep, ""
	if strings.Contains(ep, ":") {
		var err error
		host, port, err = net.SplitHostPort(ep)
		if err != nil {
			return errors.New("is not host or host:port")
		}
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("port %q is not a number from 1 to 65535", port)
		}
	}
	if host == "" || strings.ContainsAny(host, "/?#@ \t") {
		return errors.New("is not host or host:port")
	}
	return nil
}

// validBucket applies S3's bucket naming rules (the common subset).
func validBucket(b string) bool {
	if len(b) < 3 || len(b) > 63 {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case (c == '-' || c == '.') && i > 0 && i < len(b)-1:
		default:
			return false
		}
	}
	return !strings.Contains(b, "..")
}

// validRegion accepts names like us-east-1 or eu-central-2.
func validRegion(r string) bool {
	if r == "" || len(r) > 32 {
		return false
	}
	for i := 0; i < len(r); i++ {
		c := r[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}
