package storage

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// Locate says where a service keeps its tables: on PostgreSQL when
// databaseURL is a postgres:// or postgresql:// URL (returned as
// postgresURL), else in the SQLite file named file in dataDir (returned as
// sqlitePath), creating the directory if needed.
func Locate(databaseURL, dataDir, file string) (postgresURL, sqlitePath string, err error) {
	if databaseURL != "" {
		scheme, _, _ := strings.Cut(databaseURL, "://")
		if scheme != "postgres" && scheme != "postgresql" {
			return "", "", fmt.Errorf("database URL %q: unsupported scheme; accepted: postgres:// or postgresql://, or no URL for SQLite in the data directory", redactURL(databaseURL))
		}
		return databaseURL, "", nil
	}
	if dataDir == "" {
		return "", "", errors.New("data directory: is empty; name a directory for " + file + ", or give a postgres:// database URL")
	}
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return "", "", fmt.Errorf("data directory %q: %w", dataDir, err)
	}
	return "", filepath.Join(dataDir, file), nil
}

// redactURL hides the password of a URL shown in an error.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "<unparsable>"
	}
	return u.Redacted()
}

// Open opens a service's store on the engine the configuration names:
// PostgreSQL (postgres, given the URL) when databaseURL is set, else
// SQLite (sqlite, given the path of file in dataDir). Each service's
// store package calls it from its own Open with its two constructors.
func Open[S any](ctx context.Context, databaseURL, dataDir, file string,
	postgres, sqlite func(ctx context.Context, location string) (S, error),
) (S, error) {
	pg, path, err := Locate(databaseURL, dataDir, file)
	switch {
	case err != nil:
		var zero S
		return zero, err
	case pg != "":
		return postgres(ctx, pg)
	}
	return sqlite(ctx, path)
}

// EngineMigrations returns one engine's migrations from a service's
// embedded tree, which holds migrations/sqlite/ and migrations/postgres/.
func EngineMigrations(tree fs.FS, engine string) fs.FS {
	sub, err := fs.Sub(tree, "migrations/"+engine)
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	return sub
}
