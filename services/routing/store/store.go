// Package store keeps the routing service's state (routing.Store) in
// SQLite (embedded, the default) or PostgreSQL (production): groups,
// agents' profiles and presence, the load ledger, the queues, round-robin
// positions, the decisions and the routing process's leases. Both engines
// run the same statements through a small dialect layer (engine.go) and
// are held to the contract by one suite (store_test.go). The tables are
// named routing_* so that the service can share a database with the
// others.
//
// A ticket is held by one agent at most because the ledger's primary key
// is the ticket; an agent's load never passes its limit because the
// writers that add to it run one at a time per agent (SQLite: one writer
// at all; PostgreSQL: an advisory lock on the tenant and agent). A ticket
// is in the ledger or in a queue, never both: Assign and SetAssignment
// take it out of its queue, Enqueue out of the ledger, one at a time per
// ticket (on PostgreSQL, under an advisory lock on the tenant and ticket).
package store

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kubedesk/kubedesk/services/platform/storage"
	"github.com/kubedesk/kubedesk/services/routing"
)

//go:embed migrations
var migrations embed.FS

// migrationScope records the routing service's migrations apart from
// other services sharing a database.
const migrationScope = "routing"

// Open opens the store a service is configured for: PostgreSQL when
// databaseURL is a postgres:// or postgresql:// URL, else (databaseURL
// empty) the SQLite file routing.db in dataDir, which it creates if
// needed.
func Open(ctx context.Context, databaseURL, dataDir string) (routing.Store, error) {
	return storage.Open(ctx, databaseURL, dataDir, "routing.db",
		func(ctx context.Context, url string) (routing.Store, error) { return OpenPostgres(ctx, url) },
		func(ctx context.Context, path string) (routing.Store, error) { return OpenSQLite(ctx, path) })
}

// ErrNULText: a text value to store or look up holds the NUL character.
// PostgreSQL cannot store it ("invalid byte sequence for encoding UTF8:
// 0x00") where SQLite could, and the engines must not differ, so both
// refuse it. The API refuses NUL before it reaches a store; this keeps the
// engines alike for every other caller.
var ErrNULText = errors.New("text holds the NUL character (U+0000)")

// now is the store's clock: UTC, at the microsecond precision both engines
// keep, so what a write returns equals what a read returns later.
func now() time.Time { return normTime(time.Now()) }

// normTime is t as both engines keep it: UTC microseconds, the zero time
// as it is.
func normTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Microsecond)
}

// orNow is t normalised, or the store's clock for the zero time.
func orNow(t time.Time) time.Time {
	if t.IsZero() {
		return now()
	}
	return normTime(t)
}

// text is one text value given to the store, named for the error that
// refuses it.
type text struct{ field, value string }

// checkText refuses the first value that holds a NUL byte with ErrNULText,
// naming its field.
func checkText(values ...text) error {
	for _, v := range values {
		if strings.IndexByte(v.value, 0) >= 0 {
			return fmt.Errorf("%s %q: %w", v.field, v.value, ErrNULText)
		}
	}
	return nil
}

// required refuses the first empty value, naming its field.
func required(values ...text) error {
	for _, v := range values {
		if v.value == "" {
			return fmt.Errorf("%s: is required", v.field)
		}
	}
	return nil
}

// checkKey checks the tenant and ID that name a record.
func checkKey(tenant, id string) error {
	ts := []text{{"tenant", tenant}, {"id", id}}
	if err := checkText(ts...); err != nil {
		return err
	}
	return required(ts...)
}

func checkLimit(limit int) error {
	if limit <= 0 {
		return fmt.Errorf("limit %d: must be > 0", limit)
	}
	return nil
}

// toJSON encodes what the store writes in a JSON column: its own shapes
// and the domain's, which always encode.
func toJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("routing store: encoding %T: %v", v, err))
	}
	return string(b)
}

func fromJSON(s string, v any) error { return json.Unmarshal([]byte(s), v) }

// jsonSkill is how a skill is written in a JSON column.
type jsonSkill struct {
	Name  string `json:"name"`
	Level int    `json:"level"`
}

func skillsJSON(skills []routing.Skill) string {
	out := make([]jsonSkill, len(skills))
	for i, s := range skills {
		out[i] = jsonSkill(s)
	}
	return toJSON(out)
}

func skillsFromJSON(s string) ([]routing.Skill, error) {
	var in []jsonSkill
	if err := fromJSON(s, &in); err != nil {
		return nil, err
	}
	out := make([]routing.Skill, len(in))
	for i, s := range in {
		out[i] = routing.Skill(s)
	}
	return out, nil
}

// jsonRequirement is how a skill requirement is written in a JSON column.
type jsonRequirement struct {
	Name     string `json:"name"`
	MinLevel int    `json:"minLevel"`
}

func requirementsJSON(reqs []routing.SkillRequirement) string {
	out := make([]jsonRequirement, len(reqs))
	for i, r := range reqs {
		out[i] = jsonRequirement(r)
	}
	return toJSON(out)
}

func requirementsFromJSON(s string) ([]routing.SkillRequirement, error) {
	var in []jsonRequirement
	if err := fromJSON(s, &in); err != nil {
		return nil, err
	}
	out := make([]routing.SkillRequirement, len(in))
	for i, r := range in {
		out[i] = routing.SkillRequirement(r)
	}
	return out, nil
}

// nonNil returns s, or an empty slice for nil, so that a column holds
// "[]" rather than "null".
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// Tenants implements routing.Store: the tenants with groups, agents,
// assignments, queued tickets or decisions not yet applied (which the
// service must apply again after a restart).
func (e *engine) Tenants(ctx context.Context) ([]string, error) {
	out, err := list(ctx, e.d.read, scanString, `SELECT tenant FROM routing_groups
		UNION SELECT tenant FROM routing_agents
		UNION SELECT tenant FROM routing_assignments
		UNION SELECT tenant FROM routing_queue
		UNION SELECT tenant FROM routing_decisions WHERE NOT applied
		ORDER BY tenant`)
	if err != nil {
		return nil, fmt.Errorf("list tenants: %w", err)
	}
	return out, nil
}

func scanString(r scanner) (string, error) {
	var s string
	err := r.Scan(&s)
	return s, err
}
