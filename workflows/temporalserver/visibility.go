package temporalserver

import (
	"database/sql"
	"fmt"
	"slices"

	_ "modernc.org/sqlite" // the driver Temporal's SQLite plugin uses too
)

// visibilityIndexes are the indexes of Temporal's SQLite visibility table
// that trimVisibility keeps: the default order (what a plain list reads)
// and the three columns kubedesk lists SLA workflows by (workflow type,
// status, workflow ID prefix), which also serve the usual lookups of the
// Temporal CLI.
var visibilityIndexes = []string{"default_idx", "by_workflow_id", "by_workflow_type", "by_status"}

// The triggers that copy every visibility row (on insert, update and
// delete) into two FTS5 full-text indexes: of Text01..03, and of the
// keyword lists such as BuildIds, BinaryChecksums and
// TemporalChangeVersion.
var (
	fullTextTriggers = []string{"executions_visibility_ai", "executions_visibility_ad", "executions_visibility_au"}
	fullTextIndexes  = []string{"executions_visibility_fts_text", "executions_visibility_fts_keyword_list"}
)

// trimVisibility cuts the work of each visibility write in the database
// at path down to what kubedesk searches by. Every write (a workflow
// started, its search attributes upserted, as the server does when a
// workflow completes its first task, or closed) maintains each index of
// the row and, through triggers, two full-text indexes; under load these
// writes were a quarter of the server's CPU while workflows started, and
// an eighth while they completed their first tasks. So it drops:
//
//   - the indexes other than visibilityIndexes (54 of the 58 the schema
//     creates): a search by another column or search attribute still
//     works, by scanning the table;
//   - the full-text triggers, and empties the full-text indexes they
//     filled: a search by a Text or KeywordList search attribute
//     (BuildIds, TemporalChangeVersion, ...) finds nothing. kubedesk makes
//     none; a Temporal cluster (--temporal-address) keeps its own
//     visibility whole.
//
// It runs on every start, so a data dir made before a trim catches up; a
// database already trimmed is left as it is.
func trimVisibility(path string) error {
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		return err
	}
	defer db.Close()
	// One connection: the drops and the emptying below are one
	// transaction, so a start that fails half-way leaves the triggers in
	// place and the next one does it all.
	db.SetMaxOpenConns(1)

	names := func(query string) ([]string, error) {
		rows, err := db.Query(query)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var name string
			if err := rows.Scan(&name); err != nil {
				return nil, err
			}
			out = append(out, name)
		}
		return out, rows.Err()
	}
	indexes, err := names(`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'executions_visibility' AND sql IS NOT NULL`)
	if err != nil {
		return fmt.Errorf("list visibility indexes: %w", err)
	}
	triggers, err := names(`SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'executions_visibility'`)
	if err != nil {
		return fmt.Errorf("list visibility triggers: %w", err)
	}
	var stmts []string
	for _, name := range indexes {
		if !slices.Contains(visibilityIndexes, name) {
			stmts = append(stmts, `DROP INDEX "`+name+`"`)
		}
	}
	if slices.ContainsFunc(triggers, func(t string) bool { return slices.Contains(fullTextTriggers, t) }) {
		for _, t := range fullTextTriggers {
			stmts = append(stmts, `DROP TRIGGER IF EXISTS "`+t+`"`)
		}
		// An external-content FTS5 index is emptied with its 'delete-all'
		// command; the rows stay in the table.
		for _, t := range fullTextIndexes {
			stmts = append(stmts, `INSERT INTO "`+t+`" ("`+t+`") VALUES ('delete-all')`)
		}
	}
	if len(stmts) == 0 {
		return nil
	}
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	for _, s := range stmts {
		if _, err := tx.Exec(s); err != nil {
			return fmt.Errorf("trim visibility: %s: %w", s, err)
		}
	}
	return tx.Commit()
}
