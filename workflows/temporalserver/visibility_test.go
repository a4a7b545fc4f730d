package temporalserver_test

import (
	"database/sql"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"

	"github.com/kubedesk/kubedesk/workflows/temporalserver"
)

// TestVisibilityDatabase: visibility records live in a file of their own,
// with the indexes and full-text triggers kubedesk does not search by
// dropped (also in a data dir that had them, at its next start), and
// listing workflows by the columns kubedesk lists by still works.
func TestVisibilityDatabase(t *testing.T) {
	dir := t.TempDir()
	start := func() *temporalserver.Server {
		t.Helper()
		srv, err := temporalserver.Start(t.Context(), temporalserver.Options{DataDir: dir, FrontendAddr: "127.0.0.1:0", Namespaces: []string{namespace}, Logger: logger})
		if err != nil {
			t.Fatal(err)
		}
		return srv
	}
	path := filepath.Join(dir, temporalserver.VisibilityDatabaseFile)
	wantIndexes := []string{"by_status", "by_workflow_id", "by_workflow_type", "default_idx"}
	checkTrimmed := func() {
		t.Helper()
		if got := schemaNames(t, path, "index"); !slices.Equal(got, wantIndexes) {
			t.Errorf("visibility indexes %v, want %v", got, wantIndexes)
		}
		if got := schemaNames(t, path, "trigger"); len(got) != 0 {
			t.Errorf("visibility triggers %v, want none", got)
		}
	}

	srv := start()
	checkTrimmed()
	// A data dir from before the trim: an index and a full-text trigger
	// back, as the schema makes them.
	stop(t, srv)
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{
		`CREATE INDEX by_task_queue ON executions_visibility (namespace_id, task_queue, (COALESCE(close_time, '9999-12-31 23:59:59+00:00')) DESC, start_time DESC, run_id)`,
		`CREATE TRIGGER executions_visibility_ai AFTER INSERT ON executions_visibility BEGIN
		   INSERT INTO executions_visibility_fts_text (rowid, Text01, Text02, Text03) VALUES (NEW.rowid, NEW.Text01, NEW.Text02, NEW.Text03);
		 END`,
	} {
		if _, err := db.Exec(s); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	srv = start()
	defer stop(t, srv)
	checkTrimmed()

	c := dial(t, srv.FrontendAddr())
	w := startWorker(t, c, t.Name())
	defer w.Stop()
	run := startSleep(t, c, t.Name(), time.Now().Add(time.Minute))
	for _, query := range []string{
		"WorkflowId STARTS_WITH 'sleep-'",
		"ExecutionStatus = 'Running' AND WorkflowType = 'SleepUntil'",
		// The SLA relay's query for the running clocks of a tenant.
		"WorkflowType = 'SleepUntil' AND ExecutionStatus = 'Running' AND WorkflowId STARTS_WITH 'sleep-'",
	} {
		deadline := time.Now().Add(10 * time.Second)
		for {
			resp, err := c.ListWorkflow(t.Context(), &workflowservice.ListWorkflowExecutionsRequest{Namespace: namespace, Query: query})
			if err != nil {
				t.Fatalf("list %q: %v", query, err)
			}
			if len(resp.GetExecutions()) == 1 && resp.GetExecutions()[0].GetExecution().GetRunId() == run.GetRunID() {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("list %q: %d executions, want the one started", query, len(resp.GetExecutions()))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// schemaNames lists, sorted, the objects of a type ("index", "trigger")
// that the SQLite database at path has on the visibility table, leaving
// out the automatic index of its primary key.
func schemaNames(t *testing.T, path, typ string) []string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = ? AND tbl_name = 'executions_visibility' AND sql IS NOT NULL ORDER BY name`, typ)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return names
}
