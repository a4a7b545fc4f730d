package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// queryer runs statements written with ? placeholders on one engine,
// outside or inside a transaction.
type queryer interface {
	exec(ctx context.Context, sql string, args ...any) (int64, error)
	queryRow(ctx context.Context, sql string, args ...any) scanner
	query(ctx context.Context, sql string, args ...any) (rows, error)
}

type scanner interface{ Scan(dest ...any) error }

type rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// dialect is what differs between the engines.
type dialect struct {
	name string
	// read runs reads outside a transaction.
	read queryer
	// tx runs fn in a write transaction.
	tx func(ctx context.Context, fn func(q queryer) error) error
	// write runs one statement that writes, as a transaction of its own:
	// on PostgreSQL one round trip instead of tx's three (BEGIN, the
	// statement, COMMIT).
	write func(ctx context.Context, sql string, args ...any) (int64, error)
	// ts is a time as the engine takes it as an argument.
	ts func(t time.Time) any
	// forUpdate locks the rows a SELECT reads, where the engine needs it.
	forUpdate string
	// unique reports a unique constraint violation.
	unique func(err error) bool
	// noRows reports "no row" of a single-row read.
	noRows func(err error) bool
	close  func() error
	ping   func(ctx context.Context) error
}

// engine implements Store over a dialect.
type engine struct{ d dialect }

// rebind turns ? placeholders into $1, $2... for PostgreSQL. The
// statements hold no ? of their own.
func rebind(sql string) string {
	var b strings.Builder
	n := 0
	for _, r := range sql {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// dbTime scans a time from either engine: Unix microseconds (SQLite) or a
// timestamp (PostgreSQL).
type dbTime struct{ t time.Time }

// Scan implements sql.Scanner.
func (d *dbTime) Scan(src any) error {
	switch v := src.(type) {
	case int64:
		d.t = time.UnixMicro(v).UTC()
	case time.Time:
		d.t = v.UTC().Truncate(time.Microsecond)
	default:
		return fmt.Errorf("time column: unexpected %T", src)
	}
	return nil
}

func (e *engine) notFound(err error) error {
	if e.d.noRows(err) {
		return ErrNotFound
	}
	return err
}

const (
	contactColumns = `tenant, id, display_name, name_fold, identities, organization_id, tier, locale,
		time_zone, custom_fields, merged_into, create_time, update_time, version`
	orgColumns = `tenant, id, name, name_fold, region, industry, size, domains, tier, custom_fields,
		create_time, update_time, version`
	auditColumns = `tenant, id, contact_id, type, other_contact_id, identities, tickets_moved,
		actor_id, actor_kind, actor_name, create_time`

	insertContact = `INSERT INTO channel_contacts (` + contactColumns + `)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	updateContact = `UPDATE channel_contacts SET display_name = ?, name_fold = ?, identities = ?,
		organization_id = ?, tier = ?, locale = ?, time_zone = ?, custom_fields = ?, merged_into = ?,
		update_time = ?, version = ? WHERE tenant = ? AND id = ?`
	getContact     = `SELECT ` + contactColumns + ` FROM channel_contacts WHERE tenant = ? AND id = ?`
	insertIdentity = `INSERT INTO channel_identities (tenant, type, value, contact_id) VALUES (?, ?, ?, ?)`
	deleteIdents   = `DELETE FROM channel_identities WHERE tenant = ? AND contact_id = ?`
	identityHolder = `SELECT contact_id FROM channel_identities WHERE tenant = ? AND type = ? AND value = ?`

	insertOrg = `INSERT INTO channel_organizations (` + orgColumns + `)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	updateOrg = `UPDATE channel_organizations SET name = ?, name_fold = ?, region = ?, industry = ?,
		size = ?, domains = ?, tier = ?, custom_fields = ?, update_time = ?, version = ?
		WHERE tenant = ? AND id = ?`
	getOrg       = `SELECT ` + orgColumns + ` FROM channel_organizations WHERE tenant = ? AND id = ?`
	insertDomain = `INSERT INTO channel_org_domains (tenant, domain, organization_id) VALUES (?, ?, ?)`
	deleteDoms   = `DELETE FROM channel_org_domains WHERE tenant = ? AND organization_id = ?`
	domainHolder = `SELECT organization_id FROM channel_org_domains WHERE tenant = ? AND domain = ?`

	insertAudit = `INSERT INTO channel_contact_audit (` + auditColumns + `)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
)

func (e *engine) contactArgs(c Contact) []any {
	return []any{
		c.Tenant, c.ID, c.DisplayName, fold(c.DisplayName), identitiesJSON(c.Identities), c.OrganizationID,
		c.Tier, c.Locale, c.TimeZone, stringsJSON(c.CustomFields), c.MergedInto,
		e.d.ts(c.CreateTime), e.d.ts(c.UpdateTime), c.Version,
	}
}

func scanContact(r scanner) (Contact, error) {
	var (
		c                 Contact
		nameFold, ids, cf string
		created, updated  dbTime
	)
	if err := r.Scan(&c.Tenant, &c.ID, &c.DisplayName, &nameFold, &ids, &c.OrganizationID, &c.Tier,
		&c.Locale, &c.TimeZone, &cf, &c.MergedInto, &created, &updated, &c.Version); err != nil {
		return Contact{}, err
	}
	var err error
	if c.Identities, err = identitiesFromJSON(ids); err != nil {
		return Contact{}, fmt.Errorf("contact %s: identities: %w", c.ID, err)
	}
	if err := jsonUnmarshal(cf, &c.CustomFields); err != nil {
		return Contact{}, fmt.Errorf("contact %s: custom fields: %w", c.ID, err)
	}
	c.CreateTime, c.UpdateTime = created.t, updated.t
	return normContact(c), nil
}

func (e *engine) orgArgs(o Organization) []any {
	return []any{
		o.Tenant, o.ID, o.Name, fold(o.Name), o.Region, o.Industry, int32(o.Size), stringsJSON(o.Domains),
		o.Tier, stringsJSON(o.CustomFields), e.d.ts(o.CreateTime), e.d.ts(o.UpdateTime), o.Version,
	}
}

func scanOrg(r scanner) (Organization, error) {
	var (
		o                  Organization
		nameFold, doms, cf string
		size               int32
		created, updated   dbTime
	)
	if err := r.Scan(&o.Tenant, &o.ID, &o.Name, &nameFold, &o.Region, &o.Industry, &size, &doms, &o.Tier,
		&cf, &created, &updated, &o.Version); err != nil {
		return Organization{}, err
	}
	if err := jsonUnmarshal(doms, &o.Domains); err != nil {
		return Organization{}, fmt.Errorf("organization %s: domains: %w", o.ID, err)
	}
	if err := jsonUnmarshal(cf, &o.CustomFields); err != nil {
		return Organization{}, fmt.Errorf("organization %s: custom fields: %w", o.ID, err)
	}
	o.Size = channelSize(size)
	o.CreateTime, o.UpdateTime = created.t, updated.t
	return normOrg(o), nil
}

func scanAudit(r scanner) (AuditEvent, error) {
	var (
		a         AuditEvent
		typ, kind int32
		ids       string
		moved     int64
		created   dbTime
	)
	if err := r.Scan(&a.Tenant, &a.ID, &a.ContactID, &typ, &a.OtherContactID, &ids, &moved, &a.Actor.ID,
		&kind, &a.Actor.DisplayName, &created); err != nil {
		return AuditEvent{}, err
	}
	var err error
	if a.Identities, err = identitiesFromJSON(ids); err != nil {
		return AuditEvent{}, fmt.Errorf("audit event %s: identities: %w", a.ID, err)
	}
	a.Type, a.Actor.Kind = auditType(typ), principalKind(kind)
	a.TicketsMoved, a.CreateTime = int(moved), created.t
	return a, nil
}

// list runs a page query and scans its rows; no rows is an empty,
// non-nil page.
func list[T any](ctx context.Context, q queryer, scan func(scanner) (T, error), sql string, args []any) ([]T, error) {
	rs, err := q.query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	out := []T{}
	for rs.Next() {
		v, err := scan(rs)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rs.Err()
}

// errHolderGone: a unique violation whose holder was gone when looked up.
var errHolderGone = errors.New("the holder went away; retry")
