package store

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestPostgresCollation: the columns that order a page compare bytewise
// (COLLATE "C") whatever the database's collation, so PostgreSQL pages in
// the order SQLite does. The test cluster's default collation is C, so the
// contract suite alone would not notice a column without it.
func TestPostgresCollation(t *testing.T) {
	s, err := OpenPostgres(ctx, cluster.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got := pgStrings(t, s, `SELECT table_name || '.' || column_name || ' ' || coalesce(collation_name, 'default')
		FROM information_schema.columns
		WHERE table_schema = current_schema()
		  AND (column_name = 'id' OR (table_name = 'iam_users' AND column_name = 'email'))
		ORDER BY 1`)
	want := []string{
		"iam_api_keys.id C", "iam_audit_events.id C", "iam_sessions.id C", "iam_sign_in_codes.id C", "iam_users.email C", "iam_users.id C",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("collations of the columns pages are ordered by (-want +got):\n%s", diff)
	}
}
