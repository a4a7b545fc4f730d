package iam_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/kubedesk/kubedesk/services/iam"
	"github.com/kubedesk/kubedesk/services/iam/store"
)

// openStore opens a fresh SQLite identity store.
func openStore(t *testing.T) iam.Store {
	t.Helper()
	st, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "iam.db"))
	if err != nil {
		t.Fatalf("opening the SQLite store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}
