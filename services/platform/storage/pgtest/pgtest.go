// Package pgtest runs a throwaway PostgreSQL 15 cluster for tests, started
// by hack/postgres.sh, with one fresh database per test. A package's tests
// start one cluster in TestMain and fail, never skip, when it cannot start:
//
//	var cluster *pgtest.Cluster
//
//	func TestMain(m *testing.M) { pgtest.Main(m, &cluster, pgtest.Fast...) }
package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Fast trades durability for speed, which a throwaway test cluster can
// afford. Benchmarks keep PostgreSQL's durable defaults.
var Fast = []string{"fsync=off", "synchronous_commit=off", "full_page_writes=off"}

// Cluster is a running PostgreSQL server in a temporary directory.
type Cluster struct {
	script string
	dir    string
	url    string
	dbs    atomic.Int64
}

// Start starts a cluster with the given postgresql.conf settings
// (name=value). It finds hack/postgres.sh by walking up from the working
// directory to the directory holding go.work. If the test binary dies
// without Stop, the script's watcher stops the server.
func Start(settings ...string) (*Cluster, error) {
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	script := filepath.Join(root, "hack", "postgres.sh")
	dir, err := os.MkdirTemp("", "kubedesk-pg-")
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	c := &Cluster{script: script, dir: dir}
	out, err := c.run(append([]string{"start", dir}, settings...)...)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("pgtest: PostgreSQL did not start: %w", err), c.Stop())
	}
	c.url = strings.TrimSpace(out)
	if !strings.HasPrefix(c.url, "postgres://") || strings.Contains(c.url, "\n") {
		return nil, errors.Join(fmt.Errorf("pgtest: %s start printed %q, want one postgres:// URL", script, out), c.Stop())
	}
	return c, nil
}

// run runs the script and returns its stdout; an error carries its stderr.
func (c *Cluster) run(args ...string) (string, error) {
	cmd := exec.Command(c.script, args...)
	cmd.Env = append(os.Environ(), "KUBEDESK_PG_WATCH_PID="+strconv.Itoa(os.Getpid()))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// Nothing the script leaves running should hold its output open, but
	// never hang a test run on it.
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s %s: %w\n%s", c.script, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// Main is a whole TestMain: it starts a cluster with settings, stores it in
// *cluster, runs the tests, stops the cluster and exits with the tests'
// status (failure when the cluster cannot start or stop cleanly).
func Main(m *testing.M, cluster **Cluster, settings ...string) {
	c, err := Start(settings...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pgtest:", err)
		os.Exit(1)
	}
	*cluster = c
	code := m.Run()
	if err := c.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "pgtest:", err)
		code = max(code, 1)
	}
	os.Exit(code)
}

// URL is the superuser's URL of the cluster's postgres database.
func (c *Cluster) URL() string { return c.url }

// Stop stops the server and removes its directory.
func (c *Cluster) Stop() error {
	if _, err := os.Stat(filepath.Join(c.dir, ".kubedesk-postgres")); errors.Is(err, os.ErrNotExist) {
		// The script gave up before making a cluster: the directory is
		// still the empty one Start made.
		return os.Remove(c.dir)
	}
	if _, err := c.run("stop", c.dir); err != nil {
		return fmt.Errorf("pgtest: stopping PostgreSQL: %w", err)
	}
	return nil
}

var unsafeName = regexp.MustCompile(`[^a-z0-9]+`)

// NewDatabase creates an empty database for tb, dropped (with any
// connections left open) when tb ends, and returns its URL. It fails tb if
// the database cannot be created.
func (c *Cluster) NewDatabase(tb testing.TB) string {
	tb.Helper()
	name := fmt.Sprintf("t%d_%s", c.dbs.Add(1), unsafeName.ReplaceAllString(strings.ToLower(tb.Name()), "_"))
	name = name[:min(len(name), 63)] // PostgreSQL's identifier limit
	ident := pgx.Identifier{name}.Sanitize()
	if err := c.exec("CREATE DATABASE " + ident); err != nil {
		tb.Fatalf("pgtest: creating database %s: %v", name, err)
	}
	tb.Cleanup(func() {
		if err := c.exec("DROP DATABASE IF EXISTS " + ident + " WITH (FORCE)"); err != nil {
			tb.Errorf("pgtest: dropping database %s: %v", name, err)
		}
	})
	u, err := url.Parse(c.url)
	if err != nil {
		tb.Fatalf("pgtest: cluster URL: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// exec runs one statement as the superuser on the postgres database.
func (c *Cluster) exec(sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

// repoRoot walks up from the working directory to the one holding go.work.
func repoRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("pgtest: %w", err)
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir, nil
		}
		if dir == filepath.Dir(dir) {
			return "", fmt.Errorf("pgtest: no go.work in %s or above; run the tests inside the kubedesk repository", wd)
		}
	}
}

// CheckOpen holds a store's Open (storage.Open) to its contract, for the
// store's tests to call with their cluster: no URL opens SQLite as file in
// the data directory (created, nested), a postgres:// or postgresql:// URL
// opens PostgreSQL, another scheme is refused without showing its
// password, and nothing at all is refused. isSQLite and isPostgres tell
// the store's two types apart.
func CheckOpen[S io.Closer](t *testing.T, c *Cluster, open func(ctx context.Context, url, dataDir string) (S, error),
	file string, isSQLite, isPostgres func(S) bool,
) {
	ctx := t.Context()
	t.Run("sqlite in the data directory", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "data", "nested")
		s, err := open(ctx, "", dir)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if !isSQLite(s) {
			t.Errorf("Open(\"\", dir) = %T, want the SQLite store", s)
		}
		if _, err := os.Stat(filepath.Join(dir, file)); err != nil {
			t.Errorf("%s not in the data directory: %v", file, err)
		}
	})
	t.Run("postgres URL", func(t *testing.T) {
		url := c.NewDatabase(t)
		for _, u := range []string{url, "postgresql" + strings.TrimPrefix(url, "postgres")} {
			s, err := open(ctx, u, "")
			if err != nil {
				t.Fatal(err)
			}
			if !isPostgres(s) {
				t.Errorf("Open(%q) = %T, want the PostgreSQL store", u, s)
			}
			s.Close()
		}
	})
	t.Run("other schemes are refused without leaking the password", func(t *testing.T) {
		_, err := open(ctx, "mysql://root:s3cret@db/helpdesk", t.TempDir())
		if err == nil {
			t.Fatal("Open with a mysql URL succeeded")
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("error shows the password: %v", err)
		}
	})
	t.Run("no URL and no data directory", func(t *testing.T) {
		if _, err := open(ctx, "", ""); err == nil {
			t.Error("Open with nothing succeeded")
		}
	})
}

// Engine is one engine a store's contract suite runs on. Fresh makes a
// new, empty database and returns a func that opens a store on it each
// time it is called (a restart, or a second replica); each store closes
// when its test ends.
type Engine[S io.Closer] struct {
	Name  string
	Fresh func(t *testing.T) func(t *testing.T) S
}

// Engines are SQLite (file in a test's temporary directory) and
// PostgreSQL (a new database of *c, read when a test runs, so that a
// package variable may hold them before TestMain starts the cluster).
func Engines[S io.Closer](c **Cluster, file string,
	openSQLite func(ctx context.Context, path string) (S, error),
	openPostgres func(ctx context.Context, url string) (S, error),
) []Engine[S] {
	opener := func(open func(context.Context, string) (S, error), where func(t *testing.T) string) func(t *testing.T) func(t *testing.T) S {
		return func(t *testing.T) func(t *testing.T) S {
			at := where(t)
			return func(t *testing.T) S {
				t.Helper()
				s, err := open(t.Context(), at)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s.Close() })
				return s
			}
		}
	}
	return []Engine[S]{
		{Name: "sqlite", Fresh: opener(openSQLite, func(t *testing.T) string { return filepath.Join(t.TempDir(), file) })},
		{Name: "postgres", Fresh: opener(openPostgres, func(t *testing.T) string { return (*c).NewDatabase(t) })},
	}
}

// Contract runs f against a fresh store of every engine, with the same
// expectations.
func Contract[S io.Closer](t *testing.T, engines []Engine[S], f func(t *testing.T, s S)) {
	for _, e := range engines {
		t.Run(e.Name, func(t *testing.T) { f(t, e.Fresh(t)(t)) })
	}
}
