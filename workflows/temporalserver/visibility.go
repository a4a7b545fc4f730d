package temporalserver

import (
	"database/sql"
	"fmt"
	"slices"

	_ "modernc.org/sqlite" // the driver Temporal's SQLite plugin uses too
)

// visibilityIndexes are the indexes of Temporal's SQLite visibility table
// that trimVisibilityIndexes keeps: those on the columns every workflow has
// (namespace, workflow ID and type, status, times, task queue, lineage).
var visibilityIndexes = []string{
	"default_idx", "by_execution_time", "by_workflow_id", "by_workflow_type",
	"by_status", "by_history_length", "by_history_size_bytes",
	"by_execution_duration", "by_state_transition_count", "by_task_queue",
	"by_parent_workflow_id", "by_parent_run_id", "by_root_workflow_id",
	"by_root_run_id",
}

// trimVisibilityIndexes drops the indexes of the visibility database at
// path that serve searches by custom and system search attributes
// (Keyword01..10, Int01..03, TemporalSchedulePaused, ...: 44 of the 58 the
// schema creates). Every visibility write (a workflow started, its search
// attributes upserted, closed) maintains each index of the row, and under
// load these writes were a quarter of the server's CPU. kubedesk lists
// workflows by ID prefix only; a search by one of those attributes still
// works, by scanning the table.
func trimVisibilityIndexes(path string) error {
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		return err
	}
	defer db.Close()
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'executions_visibility' AND sql IS NOT NULL`)
	if err != nil {
		return fmt.Errorf("list visibility indexes: %w", err)
	}
	var drop []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return err
		}
		if !slices.Contains(visibilityIndexes, name) {
			drop = append(drop, name)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if err := rows.Close(); err != nil {
		return err
	}
	for _, name := range drop {
		if _, err := db.Exec(`DROP INDEX "` + name + `"`); err != nil {
			return fmt.Errorf("drop visibility index %s: %w", name, err)
		}
	}
	return nil
}
