package blob

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// secret is the secret key in the URLs below; no error may show it.
const secret = "s3cr3tK3yVal"

func TestParseURL(t *testing.T) {
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	tests := []struct {
		url  string
		env  map[string]string
		want location
	}{
		{"file:///var/lib/kubedesk/blobs", nil, location{dir: "/var/lib/kubedesk/blobs", shown: "file:///var/lib/kubedesk/blobs"}},
		{"file://localhost/srv/blobs/", nil, location{dir: "/srv/blobs", shown: "file://localhost/srv/blobs/"}},
		{"s3://AK:" + secret + "@attachments/prod/mail?endpoint=minio.storage:9000&region=eu-west-1&insecure=true", nil, location{
			s3: &S3Config{
				Bucket: "attachments", Prefix: "prod/mail", Endpoint: "minio.storage:9000", Region: "eu-west-1",
				Insecure: true, AccessKeyID: "AK", SecretAccessKey: secret,
			},
			shown: "s3://REDACTED@attachments/prod/mail?endpoint=minio.storage:9000&region=eu-west-1&insecure=true",
		}},
		{"s3://my.bucket-1", map[string]string{"AWS_ACCESS_KEY_ID": "EK", "AWS_SECRET_ACCESS_KEY": secret, "AWS_SESSION_TOKEN": "tok"}, location{
			s3:    &S3Config{Bucket: "my.bucket-1", AccessKeyID: "EK", SecretAccessKey: secret, SessionToken: "tok"},
			shown: "s3://my.bucket-1",
		}},
		{"s3://AK:" + secret + "@b12/?endpoint=[::1]:9000", nil, location{
			s3:    &S3Config{Bucket: "b12", Endpoint: "[::1]:9000", AccessKeyID: "AK", SecretAccessKey: secret},
			shown: "s3://REDACTED@b12/?endpoint=[::1]:9000",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			env = tt.env
			got, err := parseURL("--blob-url", tt.url, getenv)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(location{})); diff != "" {
				t.Errorf("parseURL (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseURLErrors(t *testing.T) {
	const acc = "; accepted: empty (files under the data directory), file:///absolute/path, " +
		"or s3://[KEY:SECRET@]bucket[/prefix][?endpoint=host:port&region=name&insecure=true]"
	cred := "AK:" + secret + "@"
	tests := []struct {
		url, want string
	}{
		{"gs://bucket", `--blob-url "gs://bucket": unknown scheme "gs"` + acc},
		{"/var/lib/blobs", `--blob-url "/var/lib/blobs": no scheme` + acc},
		{"s3://" + cred + "x y", `--blob-url: not a valid URL` + acc},
		{"s3:bucket", `--blob-url: not a valid URL` + acc},
		{"s3://" + cred, `--blob-url "s3://REDACTED@": no bucket (s3://bucket/prefix)` + acc},
		{"s3:///prefix", `--blob-url "s3:///prefix": no bucket (s3://bucket/prefix)` + acc},
		{"s3://" + cred + "Bucket", `--blob-url "s3://REDACTED@Bucket": bucket "Bucket" is not a valid name (3 to 63 lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit)` + acc},
		{"s3://" + cred + "b:9000", `--blob-url "s3://REDACTED@b:9000": bucket "b:9000" is not a valid name (3 to 63 lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit)` + acc},
		{"s3://" + cred + "bkt/a/../b", `--blob-url "s3://REDACTED@bkt/a/../b": prefix "a/../b" has an empty, . or .. segment` + acc},
		{"s3://" + cred + "bkt?endpoint=http://minio:9000", `--blob-url "s3://REDACTED@bkt?endpoint=http://minio:9000": endpoint "http://minio:9000": give host:port without a scheme (insecure=true for plain HTTP)` + acc},
		{"s3://" + cred + "bkt?endpoint=minio:port", `--blob-url "s3://REDACTED@bkt?endpoint=minio:port": endpoint "minio:port": port "port" is not a number from 1 to 65535` + acc},
		{"s3://" + cred + "bkt?endpoint=minio:0", `--blob-url "s3://REDACTED@bkt?endpoint=minio:0": endpoint "minio:0": port "0" is not a number from 1 to 65535` + acc},
		{"s3://" + cred + "bkt?endpoint=:9000", `--blob-url "s3://REDACTED@bkt?endpoint=:9000": endpoint ":9000": is not host or host:port` + acc},
		{"s3://" + cred + "bkt?endpoint=minio/path", `--blob-url "s3://REDACTED@bkt?endpoint=minio/path": endpoint "minio/path": is not host or host:port` + acc},
		{"s3://" + cred + "bkt?endpoint=", `--blob-url "s3://REDACTED@bkt?endpoint=": endpoint "": is empty; give host:port, or leave endpoint out for AWS S3` + acc},
		{"s3://" + cred + "bkt?region=US_EAST", `--blob-url "s3://REDACTED@bkt?region=US_EAST": region "US_EAST" is not valid (lower-case letters, digits and hyphens, like us-east-1)` + acc},
		{"s3://" + cred + "bkt?insecure=maybe", `--blob-url "s3://REDACTED@bkt?insecure=maybe": insecure "maybe" is not true or false` + acc},
		{"s3://" + cred + "bkt?secret=" + secret, `--blob-url "s3://REDACTED@bkt?secret=REDACTED": unknown query parameter "secret" (accepted: endpoint, region, insecure)` + acc},
		{"s3://" + cred + "bkt?region=a&region=b", `--blob-url "s3://REDACTED@bkt?region=a&region=b": query parameter "region" is given 2 times; give it once` + acc},
		{"s3://AK@bkt", `--blob-url "s3://REDACTED@bkt": credentials in the URL need both key and secret (s3://KEY:SECRET@bucket)` + acc},
		{"s3://bkt", `--blob-url "s3://bkt": no credentials: give s3://KEY:SECRET@bucket or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY` + acc},
		{"file://host/srv", `--blob-url "file://host/srv": a file URL names no host (file:///absolute/path)` + acc},
		{"file:relative/dir", `--blob-url: not a valid URL` + acc},
		{"file:///srv/blobs?x=1", `--blob-url "file:///srv/blobs?x=REDACTED": a file URL takes no query or fragment` + acc},
	}
	noEnv := func(string) string { return "" }
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			_, err := parseURL("--blob-url", tt.url, noEnv)
			if err == nil {
				t.Fatalf("parseURL(%q) succeeded, want %s", tt.url, tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("error:\n got %s\nwant %s", err, tt.want)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error shows the secret: %s", err)
			}
		})
	}
}

func TestOpen(t *testing.T) {
	ctx := context.Background()
	t.Run("data directory", func(t *testing.T) {
		dir := t.TempDir()
		s, err := Open(ctx, "--blob-url", "", dir)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := s.(*FS).Dir(), filepath.Join(dir, "blobs"); got != want {
			t.Errorf("Dir = %q, want %q", got, want)
		}
	})
	t.Run("file URL", func(t *testing.T) {
		dir := t.TempDir()
		s, err := Open(ctx, "--blob-url", "file://"+dir+"/att", "")
		if err != nil {
			t.Fatal(err)
		}
		if got, want := s.(*FS).Dir(), filepath.Join(dir, "att"); got != want {
			t.Errorf("Dir = %q, want %q", got, want)
		}
	})
	endpoint, _ := s3Server(t)
	tests := []struct {
		name, url, dataDir, want string
	}{
		{"no URL and no data directory", "", "",
			"--blob-url: is empty and so is the data directory; accepted: empty (files under the data directory), file:///absolute/path, " +
				"or s3://[KEY:SECRET@]bucket[/prefix][?endpoint=host:port&region=name&insecure=true]"},
		{"missing bucket", "s3://AK:" + secret + "@no-such-bucket?endpoint=" + endpoint + "&insecure=true", "",
			`--blob-url "s3://REDACTED@no-such-bucket?endpoint=` + endpoint + `&insecure=true": bucket "no-such-bucket" does not exist at ` + endpoint + "; create it first"},
		{"file path not a directory", "file:///dev/null", "",
			`--blob-url: blob directory "/dev/null": mkdir /dev/null: not a directory`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Open(ctx, "--blob-url", tt.url, tt.dataDir)
			if err == nil || err.Error() != tt.want {
				t.Errorf("Open error:\n got %v\nwant %s", err, tt.want)
			}
		})
	}
	t.Run("unreachable endpoint", func(t *testing.T) {
		// Port 1 on the loopback: nothing listens there. The client retries
		// with backoff until the context ends.
		ctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		_, err := Open(ctx, "--blob-url", "s3://AK:"+secret+"@bkt?endpoint=127.0.0.1:1&insecure=true", "")
		prefix := `--blob-url "s3://REDACTED@bkt?endpoint=127.0.0.1:1&insecure=true": check bucket "bkt" at 127.0.0.1:1: `
		if err == nil || !strings.HasPrefix(err.Error(), prefix) {
			t.Errorf("Open error = %v, want prefix %s", err, prefix)
		}
		if err != nil && strings.Contains(err.Error(), secret) {
			t.Errorf("error shows the secret: %s", err)
		}
	})
}
