package main

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/kubedesk/kubedesk/services/platform/storage"
	"github.com/kubedesk/kubedesk/services/ticket/store"
)

// TestLegacyEventsInDataDir starts kubedesk on a data directory whose
// event rows were written before changes were typed (text only): the
// stream still sends them, with typed values where the text tells them
// without doubt.
func TestLegacyEventsInDataDir(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	path := filepath.Join(dir, "ticket.db")
	s, err := store.OpenSQLite(ctx, path) // creates and migrates ticket.db
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := storage.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	// A row as the store wrote it before: no "format", changes as text.
	const payload = `{"ticket":{"id":"t-1","tenant":"acme","subject":"printer","description":"","status":"open",` +
		`"impact":2,"urgency":1,"priority":2,"channel":"web","requester":{},"group":"","assignee":"","tags":["vip","a,b"],` +
		`"custom_fields":{},"create_time":"2026-12-01T09:00:00Z","update_time":"2026-12-01T10:00:00Z","version":2},` +
		`"changes":[{"field":"tags","old":"x,y","new":"vip,a,b"},{"field":"urgency","old":"2","new":"1"},{"field":"priority","old":"P3","new":"P2"}]}`
	_, err = db.Write.ExecContext(ctx, `INSERT INTO ticket_events (tenant, ticket_id, type, payload, create_time) VALUES (?, ?, ?, ?, ?)`,
		"acme", "t-1", "ticket.updated", payload, time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC).UnixMicro())
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}

	srv := startServe(t, "--data-dir="+dir)
	events := watch(t, srv, "", 1, "X-Kubedesk-Tenant", "acme")
	want := []any{
		// The old tags cannot be told from "x,y": text only (before is
		// unset, null in JSON).
		map[string]any{"field": "tags", "oldValue": "x,y", "newValue": "vip,a,b", "before": nil, "after": []any{"vip", "a,b"}},
		map[string]any{"field": "urgency", "oldValue": "2", "newValue": "1", "before": 2.0, "after": 1.0},
		map[string]any{"field": "priority", "oldValue": "P3", "newValue": "P2", "before": 3.0, "after": 2.0},
	}
	if got := events[0]["changes"]; !reflect.DeepEqual(got, want) {
		t.Errorf("changes of the old event = %v\nwant %v", got, want)
	}
}
