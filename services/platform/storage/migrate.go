// Package storage is the plumbing every service's store shares: opening
// SQLite and PostgreSQL the way the stores expect, running a service's
// embedded schema migrations, and waking event watchers after commits.
package storage

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// ErrSchemaTooNew means the database was migrated by a newer binary: this
// one does not know every applied migration and must not touch the schema.
var ErrSchemaTooNew = errors.New("database schema is newer than this binary")

// Migration is one forward-only schema change, read from a file named
// NNNN_description.sql (e.g. 0001_init.sql).
type Migration struct {
	Version int64
	Name    string // the file name
	SQL     string
}

var migrationName = regexp.MustCompile(`^([0-9]+)_[A-Za-z0-9_-]+\.sql$`)

// LoadMigrations reads the *.sql files at the root of fsys, ordered by
// version. Every .sql file must be named NNNN_description.sql with a version
// > 0 that no other file has.
func LoadMigrations(fsys fs.FS) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("reading migrations: %w", err)
	}
	var out []Migration
	for _, e := range entries {
		if e.IsDir() || path.Ext(e.Name()) != ".sql" {
			continue
		}
		m := migrationName.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, fmt.Errorf("migration %q: name must look like 0001_description.sql", e.Name())
		}
		v, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %q: version must be a number > 0", e.Name())
		}
		b, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return nil, fmt.Errorf("reading migration %q: %w", e.Name(), err)
		}
		out = append(out, Migration{Version: v, Name: e.Name(), SQL: string(b)})
	}
	slices.SortFunc(out, func(a, b Migration) int { return cmp.Compare(a.Version, b.Version) })
	for i := 1; i < len(out); i++ {
		if out[i].Version == out[i-1].Version {
			return nil, fmt.Errorf("migrations %q and %q have the same version %d", out[i-1].Name, out[i].Name, out[i].Version)
		}
	}
	return out, nil
}

// pending returns the migrations of known that are not applied yet. It
// refuses a database that has versions this binary does not know
// (ErrSchemaTooNew) or that skipped a known version (forward-only: a
// migration added below the newest applied one would never run).
func pending(scope string, known []Migration, applied []int64) ([]Migration, error) {
	var latest, newest int64
	if len(known) > 0 {
		latest = known[len(known)-1].Version
	}
	for _, v := range applied {
		if !slices.ContainsFunc(known, func(m Migration) bool { return m.Version == v }) {
			return nil, fmt.Errorf("%w: %s migration %d is applied but this binary does not have it (it has versions up to %d); run the kubedesk version that migrated the database, or a newer one",
				ErrSchemaTooNew, scope, v, latest)
		}
		newest = max(newest, v)
	}
	var out []Migration
	for _, m := range known {
		switch {
		case slices.Contains(applied, m.Version):
		case m.Version < newest:
			return nil, fmt.Errorf("%s migration %s is not applied but the later migration %d is; migrations are forward-only, give it a version above %d",
				scope, m.Name, newest, newest)
		default:
			out = append(out, m)
		}
	}
	return out, nil
}

// validScope keeps scopes to plain names, so they read well in errors.
func validScope(scope string) error {
	if scope == "" || strings.TrimSpace(scope) != scope {
		return fmt.Errorf("migration scope %q: must be a non-empty name such as \"ticket\"", scope)
	}
	return nil
}
