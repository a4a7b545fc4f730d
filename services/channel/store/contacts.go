package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	channelv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/channel/v1"
	iamv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/iam/v1"
)

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

func channelSize(n int32) channelv1.OrganizationSize { return channelv1.OrganizationSize(n) }

func auditType(n int32) channelv1.ContactAuditEventType { return channelv1.ContactAuditEventType(n) }

func principalKind(n int32) iamv1.PrincipalKind { return iamv1.PrincipalKind(n) }

// CreateContact implements Store.
func (e *engine) CreateContact(ctx context.Context, c Contact) (Contact, error) {
	if c.ID == "" {
		c.ID = NewID()
	}
	c = normContact(c)
	if err := checkText(contactText(c)...); err != nil {
		return Contact{}, fmt.Errorf("create contact: %w", err)
	}
	if err := checkIdentities(c.Identities); err != nil {
		return Contact{}, fmt.Errorf("create contact: %w", err)
	}
	c.MergedInto = ""
	c.CreateTime = now()
	c.UpdateTime, c.Version = c.CreateTime, 1
	err := e.d.tx(ctx, func(q queryer) error { return e.insertContact(ctx, q, c) })
	if err != nil {
		return Contact{}, fmt.Errorf("create contact %s: %w", c.ID, e.conflict(ctx, err, c.Tenant, c.Identities, ""))
	}
	return c, nil
}

// errTaken marks a unique violation inside a transaction, to be named
// after it rolled back.
var errTaken = errors.New("unique violation")

func (e *engine) insertContact(ctx context.Context, q queryer, c Contact) error {
	if _, err := q.exec(ctx, insertContact, e.contactArgs(c)...); err != nil {
		return err
	}
	return e.insertIdentities(ctx, q, c)
}

func (e *engine) insertIdentities(ctx context.Context, q queryer, c Contact) error {
	for _, id := range c.Identities {
		if _, err := q.exec(ctx, insertIdentity, c.Tenant, int32(id.Type), id.Value, c.ID); err != nil {
			if e.d.unique(err) {
				return fmt.Errorf("%w: %s", errTaken, id)
			}
			return err
		}
	}
	return nil
}

// conflict names the holder of the first of ids another contact than self
// holds, for an error from a transaction that broke a unique constraint;
// other errors are returned as they are.
func (e *engine) conflict(ctx context.Context, err error, tenant string, ids []Identity, self string) error {
	if !errors.Is(err, errTaken) {
		return err
	}
	for _, id := range ids {
		var holder string
		herr := e.d.read.queryRow(ctx, identityHolder, tenant, int32(id.Type), id.Value).Scan(&holder)
		if herr == nil && holder != self {
			return &ConflictError{Identity: Identity{Type: id.Type, Value: id.Value}, Holder: holder}
		}
	}
	return fmt.Errorf("%w (%w)", err, errHolderGone)
}

// GetContact implements Store.
func (e *engine) GetContact(ctx context.Context, tenant, id string) (Contact, error) {
	if err := checkText(text{"tenant", tenant}, text{"id", id}); err != nil {
		return Contact{}, fmt.Errorf("get contact: %w", err)
	}
	c, err := scanContact(e.d.read.queryRow(ctx, getContact, tenant, id))
	if err != nil {
		return Contact{}, fmt.Errorf("get contact %s: %w", id, e.notFound(err))
	}
	return c, nil
}

// ListContacts implements Store.
func (e *engine) ListContacts(ctx context.Context, tenant string, q ContactQuery) ([]Contact, error) {
	if err := checkLimit("list contacts", q.Limit); err != nil {
		return nil, err
	}
	ts := []text{{"tenant", tenant}, {"before id", q.BeforeID}, {"organization id", q.OrganizationID}, {"tier", q.Tier}, {"name", q.NameContains}}
	if q.Identity != nil {
		ts = append(ts, text{"identity", q.Identity.Value})
	}
	if err := checkText(ts...); err != nil {
		return nil, fmt.Errorf("list contacts: %w", err)
	}
	var (
		where = []string{"c.tenant = ?"}
		args  = []any{tenant}
	)
	add := func(cond string, a ...any) { where = append(where, cond); args = append(args, a...) }
	from := "channel_contacts c"
	if q.Identity != nil {
		from += " JOIN channel_identities i ON i.tenant = c.tenant AND i.contact_id = c.id"
		add("i.type = ? AND i.value = ?", int32(q.Identity.Type), q.Identity.Value)
	}
	if q.OrganizationID != "" {
		add("c.organization_id = ?", q.OrganizationID)
	}
	if q.Tier != "" {
		add("c.tier = ?", q.Tier)
	}
	if q.NameContains != "" {
		add(e.contains("c.name_fold"), fold(q.NameContains))
	}
	switch {
	case q.Merged == nil || !*q.Merged:
		add("c.merged_into = ''")
	default:
		add("c.merged_into <> ''")
	}
	if q.BeforeID != "" {
		add("c.id < ?", q.BeforeID)
	}
	args = append(args, q.Limit)
	cols := prefixed("c.", contactColumns)
	sql := `SELECT ` + cols + ` FROM ` + from + ` WHERE ` + strings.Join(where, " AND ") + ` ORDER BY c.id DESC LIMIT ?`
	out, err := list(ctx, e.d.read, scanContact, sql, args)
	if err != nil {
		return nil, fmt.Errorf("list contacts: %w", err)
	}
	return out, nil
}

// contains is the engine's "column holds the argument" test; both compare
// bytes.
func (e *engine) contains(col string) string {
	if e.d.name == "postgres" {
		return "strpos(" + col + ", ?) > 0"
	}
	return "instr(" + col + ", ?) > 0"
}

// UpdateContact implements Store.
func (e *engine) UpdateContact(ctx context.Context, tenant, id string, ifVersion int64, mutate func(*Contact) error) (Contact, error) {
	if err := checkText(text{"tenant", tenant}, text{"id", id}); err != nil {
		return Contact{}, fmt.Errorf("update contact: %w", err)
	}
	var out, tried Contact
	err := e.d.tx(ctx, func(q queryer) error {
		cur, err := scanContact(q.queryRow(ctx, getContact+e.d.forUpdate, tenant, id))
		if err != nil {
			return e.notFound(err)
		}
		if cur.MergedInto != "" {
			return &MergedError{ID: cur.ID, Into: cur.MergedInto}
		}
		if ifVersion > 0 && cur.Version != ifVersion {
			return fmt.Errorf("version %d, stored %d: %w", ifVersion, cur.Version, ErrVersion)
		}
		next := normContact(cur)
		if mutate != nil {
			if err := mutate(&next); err != nil {
				return errMutate{err}
			}
		}
		next = normContact(next)
		if err := checkText(contactText(next)...); err != nil {
			return err
		}
		if err := checkIdentities(next.Identities); err != nil {
			return err
		}
		next.Tenant, next.ID, next.CreateTime, next.MergedInto = cur.Tenant, cur.ID, cur.CreateTime, cur.MergedInto
		next.Version, next.UpdateTime = cur.Version+1, now()
		tried = next
		if err := e.writeContact(ctx, q, next, true); err != nil {
			return err
		}
		out = next
		return nil
	})
	if m, ok := errors.AsType[errMutate](err); ok {
		return Contact{}, m.err
	}
	if err != nil {
		return Contact{}, fmt.Errorf("update contact %s: %w", id, e.conflict(ctx, err, tenant, tried.Identities, id))
	}
	return out, nil
}

// writeContact writes c's row and, when identities, replaces its rows of
// channel_identities.
func (e *engine) writeContact(ctx context.Context, q queryer, c Contact, identities bool) error {
	if _, err := q.exec(ctx, updateContact, c.DisplayName, fold(c.DisplayName), identitiesJSON(c.Identities),
		c.OrganizationID, c.Tier, c.Locale, c.TimeZone, stringsJSON(c.CustomFields), c.MergedInto,
		e.d.ts(c.UpdateTime), c.Version, c.Tenant, c.ID); err != nil {
		return err
	}
	if !identities {
		return nil
	}
	if _, err := q.exec(ctx, deleteIdents, c.Tenant, c.ID); err != nil {
		return err
	}
	return e.insertIdentities(ctx, q, c)
}

// MergeContacts implements Store.
func (e *engine) MergeContacts(ctx context.Context, tenant, fromID, intoID string, actor Actor) (Contact, error) {
	if err := checkText(text{"tenant", tenant}, text{"from", fromID}, text{"into", intoID},
		text{"actor id", actor.ID}, text{"actor name", actor.DisplayName}); err != nil {
		return Contact{}, fmt.Errorf("merge contacts: %w", err)
	}
	if fromID == intoID {
		return Contact{}, fmt.Errorf("merge contact %s: %w", fromID, ErrSameContact)
	}
	var out Contact
	err := e.d.tx(ctx, func(q queryer) error {
		// Lock in ID order, so that two merges of the same pair cannot
		// deadlock.
		first, second := fromID, intoID
		if second < first {
			first, second = second, first
		}
		locked := map[string]Contact{}
		for _, id := range []string{first, second} {
			c, err := scanContact(q.queryRow(ctx, getContact+e.d.forUpdate, tenant, id))
			if err != nil {
				return fmt.Errorf("contact %s: %w", id, e.notFound(err))
			}
			locked[id] = c
		}
		from, into := locked[fromID], locked[intoID]
		if into.MergedInto != "" {
			return &MergedError{ID: into.ID, Into: into.MergedInto}
		}
		if from.MergedInto == into.ID {
			out = into
			return nil // merged already: a retry
		}
		if from.MergedInto != "" {
			return &MergedError{ID: from.ID, Into: from.MergedInto}
		}
		at := now()
		moved := from.Identities
		if _, err := q.exec(ctx, deleteIdents, tenant, from.ID); err != nil {
			return err
		}
		from.Identities, from.MergedInto = []Identity{}, into.ID
		from.Version, from.UpdateTime = from.Version+1, at
		if err := e.writeContact(ctx, q, from, false); err != nil {
			return err
		}
		into.Identities = mergeIdentities(into.Identities, moved)
		into.Version, into.UpdateTime = into.Version+1, at
		if err := e.writeContact(ctx, q, into, true); err != nil {
			return err
		}
		for _, a := range []AuditEvent{
			{Tenant: tenant, ID: NewID(), ContactID: from.ID, Type: channelv1.ContactAuditEventType_CONTACT_AUDIT_EVENT_TYPE_MERGED_INTO,
				OtherContactID: into.ID, Identities: moved, Actor: actor, CreateTime: at},
			{Tenant: tenant, ID: NewID(), ContactID: into.ID, Type: channelv1.ContactAuditEventType_CONTACT_AUDIT_EVENT_TYPE_MERGED_FROM,
				OtherContactID: from.ID, Identities: moved, Actor: actor, CreateTime: at},
		} {
			if _, err := q.exec(ctx, insertAudit, a.Tenant, a.ID, a.ContactID, int32(a.Type), a.OtherContactID,
				identitiesJSON(a.Identities), a.TicketsMoved, a.Actor.ID, int32(a.Actor.Kind), a.Actor.DisplayName,
				e.d.ts(a.CreateTime)); err != nil {
				return err
			}
		}
		out = into
		return nil
	})
	if err != nil {
		return Contact{}, fmt.Errorf("merge contact %s into %s: %w", fromID, intoID, err)
	}
	return out, nil
}

// RecordTicketsMoved implements Store.
func (e *engine) RecordTicketsMoved(ctx context.Context, tenant, fromID, intoID string, n int) error {
	if err := checkText(text{"tenant", tenant}, text{"from", fromID}, text{"into", intoID}); err != nil {
		return fmt.Errorf("record tickets moved: %w", err)
	}
	if n == 0 {
		return nil
	}
	err := e.d.tx(ctx, func(q queryer) error {
		_, err := q.exec(ctx, `UPDATE channel_contact_audit SET tickets_moved = tickets_moved + ?
			WHERE tenant = ? AND ((contact_id = ? AND other_contact_id = ? AND type = ?)
				OR (contact_id = ? AND other_contact_id = ? AND type = ?))`,
			n, tenant, fromID, intoID, int32(channelv1.ContactAuditEventType_CONTACT_AUDIT_EVENT_TYPE_MERGED_INTO),
			intoID, fromID, int32(channelv1.ContactAuditEventType_CONTACT_AUDIT_EVENT_TYPE_MERGED_FROM))
		return err
	})
	if err != nil {
		return fmt.Errorf("record %d tickets moved from %s to %s: %w", n, fromID, intoID, err)
	}
	return nil
}

// ListAudit implements Store.
func (e *engine) ListAudit(ctx context.Context, tenant, contactID, beforeID string, limit int) ([]AuditEvent, error) {
	if err := checkText(text{"tenant", tenant}, text{"contact id", contactID}, text{"before id", beforeID}); err != nil {
		return nil, fmt.Errorf("list contact audit: %w", err)
	}
	if err := checkLimit("list contact audit", limit); err != nil {
		return nil, err
	}
	sql := `SELECT ` + auditColumns + ` FROM channel_contact_audit WHERE tenant = ? AND contact_id = ?`
	args := []any{tenant, contactID}
	if beforeID != "" {
		sql += ` AND id < ?`
		args = append(args, beforeID)
	}
	sql += ` ORDER BY id DESC LIMIT ?`
	out, err := list(ctx, e.d.read, scanAudit, sql, append(args, limit))
	if err != nil {
		return nil, fmt.Errorf("list contact audit: %w", err)
	}
	return out, nil
}

// ResolveIdentity implements Store.
func (e *engine) ResolveIdentity(ctx context.Context, tenant string, id Identity, displayName string) (Contact, bool, error) {
	n, err := NormalizeIdentity(id)
	if err != nil {
		return Contact{}, false, fmt.Errorf("resolve identity: %w", err)
	}
	n.Primary = true
	if err := checkText(text{"tenant", tenant}, text{"identity", n.Value}, text{"display name", displayName}); err != nil {
		return Contact{}, false, fmt.Errorf("resolve identity: %w", err)
	}
	byIdentity := `SELECT ` + prefixed("c.", contactColumns) + ` FROM channel_identities i
		JOIN channel_contacts c ON c.tenant = i.tenant AND c.id = i.contact_id
		WHERE i.tenant = ? AND i.type = ? AND i.value = ?`
	for range 3 {
		c, err := scanContact(e.d.read.queryRow(ctx, byIdentity, tenant, int32(n.Type), n.Value))
		if err == nil {
			return c, false, nil
		}
		if !e.d.noRows(err) {
			return Contact{}, false, fmt.Errorf("resolve identity %s: %w", n, err)
		}
		c = normContact(Contact{Tenant: tenant, ID: NewID(), DisplayName: displayName, Identities: []Identity{n}})
		c.CreateTime = now()
		c.UpdateTime, c.Version = c.CreateTime, 1
		err = e.d.tx(ctx, func(q queryer) error {
			if n.Type == channelv1.IdentityType_IDENTITY_TYPE_EMAIL {
				var org string
				err := q.queryRow(ctx, domainHolder, tenant, EmailDomain(n.Value)).Scan(&org)
				switch {
				case err == nil:
					c.OrganizationID = org
				case !e.d.noRows(err):
					return err
				}
			}
			return e.insertContact(ctx, q, c)
		})
		if err == nil {
			return c, true, nil
		}
		if !errors.Is(err, errTaken) {
			return Contact{}, false, fmt.Errorf("resolve identity %s: %w", n, err)
		}
		// Another resolver won the race: read its contact.
	}
	return Contact{}, false, fmt.Errorf("resolve identity %s: taken and released three times; retry", n)
}

// prefixed writes a column list with each column prefixed ("c.").
func prefixed(p, columns string) string {
	fields := strings.Split(columns, ",")
	for i, f := range fields {
		fields[i] = p + strings.TrimSpace(f)
	}
	return strings.Join(fields, ", ")
}

// Ping implements Store.
func (e *engine) Ping(ctx context.Context) error { return e.d.ping(ctx) }

// Close implements Store.
func (e *engine) Close() error { return e.d.close() }
