package store

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
)

// TestPostgresCollation: the columns pages are ordered by, and the folded
// names the filters search, compare bytewise (COLLATE "C") whatever the
// database's collation, so PostgreSQL answers as SQLite does. The test
// cluster's default collation is C, so the contract suite alone would not
// notice a column without it.
func TestPostgresCollation(t *testing.T) {
	url := cluster.NewDatabase(t)
	s, err := OpenPostgres(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT table_name || '.' || column_name || ' ' || coalesce(collation_name, 'default')
		FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name LIKE 'channel\_%'
		  AND column_name IN ('id', 'name_fold', 'value', 'domain')
		ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"channel_contact_audit.id C", "channel_contacts.id C", "channel_contacts.name_fold C",
		"channel_identities.value C", "channel_org_domains.domain C", "channel_organizations.id C",
		"channel_organizations.name_fold C", "channel_webhook_deliveries.id C", "channel_webhooks.id C",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("collations (-want +got):\n%s", diff)
	}
}
