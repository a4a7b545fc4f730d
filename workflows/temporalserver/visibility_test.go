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
// with the indexes on custom search attributes dropped, and listing
// workflows (by ID prefix, by status) still works.
func TestVisibilityDatabase(t *testing.T) {
	dir := t.TempDir()
	srv, err := temporalserver.Start(t.Context(), temporalserver.Options{DataDir: dir, FrontendAddr: "127.0.0.1:0", Namespaces: []string{namespace}, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	defer stop(t, srv)

	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, temporalserver.VisibilityDatabaseFile)+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var indexes []string
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'executions_visibility' AND sql IS NOT NULL ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		indexes = append(indexes, name)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(indexes) != 14 || !slices.Contains(indexes, "by_workflow_id") || slices.Contains(indexes, "by_keyword_01") {
		t.Errorf("visibility indexes %v: want the 14 on built-in columns, by_workflow_id among them, none on custom attributes", indexes)
	}

	c := dial(t, srv.FrontendAddr())
	w := startWorker(t, c, t.Name())
	defer w.Stop()
	run := startSleep(t, c, t.Name(), time.Now().Add(time.Minute))
	for _, query := range []string{
		"WorkflowId STARTS_WITH 'sleep-'",
		"ExecutionStatus = 'Running' AND WorkflowType = 'SleepUntil'",
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
