package store

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestPostgresEventsAcrossXIDDigits puts two events on either side of a
// power of ten in transaction ids (e.g. 999 and 1000): the stream must order
// them as numbers. Ordering by their text form would put 1000 first, and a
// reader resuming after it would skip 999.
func TestPostgresEventsAcrossXIDDigits(t *testing.T) {
	s, err := OpenPostgres(ctx, cluster.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	first := create(t, s, fixture("acme", 1))
	var next uint64 // the next transaction id to be handed out
	if err := s.pool.QueryRow(ctx, `SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint`).Scan(&next); err != nil {
		t.Fatal(err)
	}
	target := uint64(10)
	for target <= next {
		target *= 10
	}
	// Each subtransaction that writes consumes a transaction id.
	burn := fmt.Sprintf(`CREATE TEMP TABLE burn (i int);
		DO $$ BEGIN
			FOR i IN 1..%d LOOP
				BEGIN INSERT INTO burn VALUES (i); EXCEPTION WHEN OTHERS THEN NULL; END;
			END LOOP;
		END $$`, target-next)
	if _, err := s.pool.Exec(ctx, burn); err != nil {
		t.Fatal(err)
	}
	second := create(t, s, fixture("acme", 2))

	all := allEvents(t, s, "acme")
	want := []string{"ticket.created " + first.ID + " v1", "ticket.created " + second.ID + " v1"}
	if diff := cmp.Diff(want, eventTypes(all)); diff != "" {
		t.Fatalf("events (-want +got):\n%s", diff)
	}
	xids := make([]int, len(all))
	for i, e := range all {
		x, _, _ := parsePostgresCursor(e.Cursor)
		xids[i] = len(strconv.FormatUint(x, 10))
	}
	if xids[0] == xids[1] {
		t.Fatalf("both events' xids have %d digits; the test did not cross a power of ten", xids[0])
	}
	page, err := s.ListEvents(ctx, "acme", "", 1)
	if err != nil || len(page) != 1 || page[0].TicketID != first.ID {
		t.Errorf("first page = %v, %v; want the first ticket's event", eventTypes(page), err)
	}
}
