package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// CreateOrganization implements Store.
func (e *engine) CreateOrganization(ctx context.Context, o Organization) (Organization, error) {
	if o.ID == "" {
		o.ID = NewID()
	}
	o = normOrg(o)
	if err := checkText(orgText(o)...); err != nil {
		return Organization{}, fmt.Errorf("create organization: %w", err)
	}
	if err := checkDomains(o.Domains); err != nil {
		return Organization{}, fmt.Errorf("create organization: %w", err)
	}
	o.CreateTime = now()
	o.UpdateTime, o.Version = o.CreateTime, 1
	err := e.d.tx(ctx, func(q queryer) error {
		if _, err := q.exec(ctx, insertOrg, e.orgArgs(o)...); err != nil {
			return err
		}
		return e.insertDomains(ctx, q, o)
	})
	if err != nil {
		return Organization{}, fmt.Errorf("create organization %s: %w", o.ID, e.domainConflict(ctx, err, o.Tenant, o.Domains, ""))
	}
	return o, nil
}

func (e *engine) insertDomains(ctx context.Context, q queryer, o Organization) error {
	for _, d := range o.Domains {
		if _, err := q.exec(ctx, insertDomain, o.Tenant, d, o.ID); err != nil {
			if e.d.unique(err) {
				return fmt.Errorf("%w: domain %s", errTaken, d)
			}
			return err
		}
	}
	return nil
}

// domainConflict is conflict's twin for domains.
func (e *engine) domainConflict(ctx context.Context, err error, tenant string, domains []string, self string) error {
	if !errors.Is(err, errTaken) {
		return err
	}
	for _, d := range domains {
		var holder string
		if herr := e.d.read.queryRow(ctx, domainHolder, tenant, d).Scan(&holder); herr == nil && holder != self {
			return &ConflictError{Domain: d, Holder: holder}
		}
	}
	return fmt.Errorf("%w (%w)", err, errHolderGone)
}

// GetOrganization implements Store.
func (e *engine) GetOrganization(ctx context.Context, tenant, id string) (Organization, error) {
	if err := checkText(text{"tenant", tenant}, text{"id", id}); err != nil {
		return Organization{}, fmt.Errorf("get organization: %w", err)
	}
	o, err := scanOrg(e.d.read.queryRow(ctx, getOrg, tenant, id))
	if err != nil {
		return Organization{}, fmt.Errorf("get organization %s: %w", id, e.notFound(err))
	}
	return o, nil
}

// OrganizationByDomain implements Store.
func (e *engine) OrganizationByDomain(ctx context.Context, tenant, domain string) (Organization, error) {
	domain = strings.ToLower(strings.TrimSpace(domain))
	if err := checkText(text{"tenant", tenant}, text{"domain", domain}); err != nil {
		return Organization{}, fmt.Errorf("organization by domain: %w", err)
	}
	o, err := scanOrg(e.d.read.queryRow(ctx, `SELECT `+prefixed("o.", orgColumns)+` FROM channel_org_domains d
		JOIN channel_organizations o ON o.tenant = d.tenant AND o.id = d.organization_id
		WHERE d.tenant = ? AND d.domain = ?`, tenant, domain))
	if err != nil {
		return Organization{}, fmt.Errorf("organization of domain %s: %w", domain, e.notFound(err))
	}
	return o, nil
}

// ListOrganizations implements Store.
func (e *engine) ListOrganizations(ctx context.Context, tenant string, q OrganizationQuery) ([]Organization, error) {
	if err := checkLimit("list organizations", q.Limit); err != nil {
		return nil, err
	}
	if err := checkText(text{"tenant", tenant}, text{"before id", q.BeforeID}, text{"name", q.NameContains},
		text{"domain", q.Domain}, text{"tier", q.Tier}); err != nil {
		return nil, fmt.Errorf("list organizations: %w", err)
	}
	var (
		where = []string{"o.tenant = ?"}
		args  = []any{tenant}
	)
	add := func(cond string, a ...any) { where = append(where, cond); args = append(args, a...) }
	from := "channel_organizations o"
	if q.Domain != "" {
		from += " JOIN channel_org_domains d ON d.tenant = o.tenant AND d.organization_id = o.id"
		add("d.domain = ?", strings.ToLower(q.Domain))
	}
	if q.Tier != "" {
		add("o.tier = ?", q.Tier)
	}
	if q.NameContains != "" {
		add(e.contains("o.name_fold"), fold(q.NameContains))
	}
	if q.BeforeID != "" {
		add("o.id < ?", q.BeforeID)
	}
	sql := `SELECT ` + prefixed("o.", orgColumns) + ` FROM ` + from + ` WHERE ` + strings.Join(where, " AND ") + ` ORDER BY o.id DESC LIMIT ?`
	out, err := list(ctx, e.d.read, scanOrg, sql, append(args, q.Limit))
	if err != nil {
		return nil, fmt.Errorf("list organizations: %w", err)
	}
	return out, nil
}

// UpdateOrganization implements Store.
func (e *engine) UpdateOrganization(ctx context.Context, tenant, id string, ifVersion int64, mutate func(*Organization) error) (Organization, error) {
	if err := checkText(text{"tenant", tenant}, text{"id", id}); err != nil {
		return Organization{}, fmt.Errorf("update organization: %w", err)
	}
	var out, tried Organization
	err := e.d.tx(ctx, func(q queryer) error {
		cur, err := scanOrg(q.queryRow(ctx, getOrg+e.d.forUpdate, tenant, id))
		if err != nil {
			return e.notFound(err)
		}
		if ifVersion > 0 && cur.Version != ifVersion {
			return fmt.Errorf("version %d, stored %d: %w", ifVersion, cur.Version, ErrVersion)
		}
		next := normOrg(cur)
		if mutate != nil {
			if err := mutate(&next); err != nil {
				return errMutate{err}
			}
		}
		next = normOrg(next)
		if err := checkText(orgText(next)...); err != nil {
			return err
		}
		if err := checkDomains(next.Domains); err != nil {
			return err
		}
		next.Tenant, next.ID, next.CreateTime = cur.Tenant, cur.ID, cur.CreateTime
		next.Version, next.UpdateTime = cur.Version+1, now()
		tried = next
		if _, err := q.exec(ctx, updateOrg, next.Name, fold(next.Name), next.Region, next.Industry, int32(next.Size),
			stringsJSON(next.Domains), next.Tier, stringsJSON(next.CustomFields), e.d.ts(next.UpdateTime),
			next.Version, tenant, id); err != nil {
			return err
		}
		if _, err := q.exec(ctx, deleteDoms, tenant, id); err != nil {
			return err
		}
		if err := e.insertDomains(ctx, q, next); err != nil {
			return err
		}
		out = next
		return nil
	})
	if m, ok := errors.AsType[errMutate](err); ok {
		return Organization{}, m.err
	}
	if err != nil {
		return Organization{}, fmt.Errorf("update organization %s: %w", id, e.domainConflict(ctx, err, tenant, tried.Domains, id))
	}
	return out, nil
}
