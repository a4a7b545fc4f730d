package storage

import (
	"errors"
	"fmt"
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
