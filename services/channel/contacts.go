package channel

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	channelv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/channel/v1"
	"github.com/kubedesk/kubedesk/services/channel/store"
	"github.com/kubedesk/kubedesk/services/platform/etag"
	"github.com/kubedesk/kubedesk/services/platform/paging"
	"github.com/kubedesk/kubedesk/services/platform/updatemask"
	"github.com/kubedesk/kubedesk/workflows/calendar"
)

// UpdatableContactFields are the update_mask paths UpdateContact accepts.
var UpdatableContactFields = []string{"display_name", "identities", "organization_id", "tier", "locale", "time_zone", "custom_fields"}

// identities normalises a request's identities: each value in its
// type's form, no identity twice, at most one primary per type. Errors
// name the field (contact.identities[1].value).
func identities(in []*channelv1.Identity) ([]store.Identity, error) {
	out := make([]store.Identity, 0, len(in))
	first := map[store.Identity]int{}
	primary := map[channelv1.IdentityType]int{}
	for i, p := range in {
		id, err := store.NormalizeIdentity(store.Identity{Type: p.GetType(), Value: p.GetValue(), Primary: p.GetPrimary()})
		if err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "contact.identities[%d].value: %v", i, err)
		}
		key := store.Identity{Type: id.Type, Value: id.Value}
		if j, ok := first[key]; ok {
			return nil, status.Errorf(codes.InvalidArgument, "contact.identities[%d]: %s repeats contact.identities[%d]; accepted: each identity once", i, key, j)
		}
		first[key] = i
		if id.Primary {
			if j, ok := primary[id.Type]; ok {
				return nil, status.Errorf(codes.InvalidArgument, "contact.identities[%d].primary: contact.identities[%d] is the primary %s already; accepted: one primary identity per type", i, j, store.TypeName(id.Type))
			}
			primary[id.Type] = i
		}
		out = append(out, id)
	}
	return out, nil
}

// identityTaken is the ALREADY_EXISTS of an identity another contact
// holds, naming the request's field.
func identityTaken(err *store.ConflictError, ids []store.Identity) error {
	field := "contact.identities"
	for i, id := range ids {
		if id.Type == err.Identity.Type && id.Value == err.Identity.Value {
			field = fmt.Sprintf("contact.identities[%d]", i)
		}
	}
	return status.Errorf(codes.AlreadyExists, "%s: %s belongs to contact %s; accepted: an identity no other contact of this tenant holds (or merge the two contacts)", field, err.Identity, err.Holder)
}

func checkContactTimeZone(tz string) error {
	if _, err := calendar.Location(tz); err != nil {
		return status.Errorf(codes.InvalidArgument, "contact.time_zone: %v", err)
	}
	return nil
}

// checkOrganization refuses an organisation ID the tenant does not have.
func (s *Server) checkOrganization(ctx context.Context, tid, field, id string) error {
	if id == "" {
		return nil
	}
	if _, err := s.store.GetOrganization(ctx, tid, id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return status.Errorf(codes.InvalidArgument, "%s: no organization %q in this tenant; accepted: the id of one of its organizations, or empty", field, id)
		}
		return s.storeError(ctx, err, "organization "+strconv.Quote(id))
	}
	return nil
}

// CreateContact implements channelv1.ContactServiceServer.
func (s *Server) CreateContact(ctx context.Context, req *channelv1.CreateContactRequest) (*channelv1.CreateContactResponse, error) {
	tid, err := callTenant(ctx)
	if err != nil {
		return nil, err
	}
	in := req.GetContact()
	ids, err := identities(in.GetIdentities())
	if err != nil {
		return nil, err
	}
	if err := checkContactTimeZone(in.GetTimeZone()); err != nil {
		return nil, err
	}
	orgID := strings.TrimPrefix(in.GetOrganizationId(), "organizations/")
	if err := s.checkOrganization(ctx, tid, "contact.organization_id", orgID); err != nil {
		return nil, err
	}
	c, err := s.store.CreateContact(ctx, store.Contact{
		Tenant:         tid,
		DisplayName:    strings.TrimSpace(in.GetDisplayName()),
		Identities:     ids,
		OrganizationID: orgID,
		Tier:           in.GetTier(),
		Locale:         in.GetLocale(),
		TimeZone:       in.GetTimeZone(),
		CustomFields:   in.GetCustomFields(),
	})
	if conflict, ok := errors.AsType[*store.ConflictError](err); ok {
		return nil, identityTaken(conflict, ids)
	}
	if err != nil {
		return nil, s.storeError(ctx, err, "contact")
	}
	return &channelv1.CreateContactResponse{Contact: contactToProto(c)}, nil
}

// GetContact implements channelv1.ContactServiceServer.
func (s *Server) GetContact(ctx context.Context, req *channelv1.GetContactRequest) (*channelv1.GetContactResponse, error) {
	tid, err := callTenant(ctx)
	if err != nil {
		return nil, err
	}
	id := strings.TrimPrefix(req.GetId(), "contacts/")
	c, err := s.store.GetContact(ctx, tid, id)
	if err != nil {
		return nil, s.storeError(ctx, err, "contact "+strconv.Quote(id))
	}
	return &channelv1.GetContactResponse{Contact: contactToProto(c)}, nil
}

// ListContacts implements channelv1.ContactServiceServer.
func (s *Server) ListContacts(ctx context.Context, req *channelv1.ListContactsRequest) (*channelv1.ListContactsResponse, error) {
	tid, err := callTenant(ctx)
	if err != nil {
		return nil, err
	}
	q, err := contactQuery(req.GetFilter())
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	query := "contacts\x00" + req.GetFilter()
	if q.BeforeID, err = paging.Position(req.GetPageToken(), query); err != nil {
		return nil, err
	}
	size := paging.Size(req.GetPageSize())
	q.Limit = size + 1
	rows, err := s.store.ListContacts(ctx, tid, q)
	if err != nil {
		return nil, s.storeError(ctx, err, "contacts")
	}
	rows, next := paging.Cut(rows, size, query, func(c store.Contact) string { return c.ID })
	resp := &channelv1.ListContactsResponse{NextPageToken: next}
	for _, c := range rows {
		resp.Contacts = append(resp.Contacts, contactToProto(c))
	}
	return resp, nil
}

// UpdateContact implements channelv1.ContactServiceServer.
func (s *Server) UpdateContact(ctx context.Context, req *channelv1.UpdateContactRequest) (*channelv1.UpdateContactResponse, error) {
	tid, err := callTenant(ctx)
	if err != nil {
		return nil, err
	}
	in := req.GetContact()
	id := strings.TrimPrefix(in.GetId(), "contacts/")
	if id == "" {
		return nil, status.Error(codes.InvalidArgument, "contact.id: is required")
	}
	paths, err := updatemask.Paths(req.GetUpdateMask(), in, UpdatableContactFields)
	if err != nil {
		return nil, err
	}
	want, err := etag.Expected(ctx, in.GetEtag(), "contact")
	if err != nil {
		return nil, err
	}
	has := func(f string) bool { return slices.Contains(paths, f) }
	var ids []store.Identity
	if has("identities") {
		if ids, err = identities(in.GetIdentities()); err != nil {
			return nil, err
		}
	}
	if has("time_zone") {
		if err := checkContactTimeZone(in.GetTimeZone()); err != nil {
			return nil, err
		}
	}
	orgID := strings.TrimPrefix(in.GetOrganizationId(), "organizations/")
	if has("organization_id") {
		if err := s.checkOrganization(ctx, tid, "contact.organization_id", orgID); err != nil {
			return nil, err
		}
	}
	c, err := s.store.UpdateContact(ctx, tid, id, want, func(c *store.Contact) error {
		for _, f := range paths {
			switch f {
			case "display_name":
				c.DisplayName = strings.TrimSpace(in.GetDisplayName())
			case "identities":
				c.Identities = ids
			case "organization_id":
				c.OrganizationID = orgID
			case "tier":
				c.Tier = in.GetTier()
			case "locale":
				c.Locale = in.GetLocale()
			case "time_zone":
				c.TimeZone = in.GetTimeZone()
			case "custom_fields":
				c.CustomFields = maps.Clone(in.GetCustomFields())
			}
		}
		return nil
	})
	if conflict, ok := errors.AsType[*store.ConflictError](err); ok {
		return nil, identityTaken(conflict, ids)
	}
	if errors.Is(err, store.ErrVersion) {
		return nil, status.Errorf(codes.Aborted, "etag: contact %q has changed since version %q; read it again and retry", id, etag.Format(want))
	}
	if err != nil {
		return nil, s.storeError(ctx, err, "contact "+strconv.Quote(id))
	}
	return &channelv1.UpdateContactResponse{Contact: contactToProto(c)}, nil
}

// ListContactAuditEvents implements channelv1.ContactServiceServer.
func (s *Server) ListContactAuditEvents(ctx context.Context, req *channelv1.ListContactAuditEventsRequest) (*channelv1.ListContactAuditEventsResponse, error) {
	tid, err := callTenant(ctx)
	if err != nil {
		return nil, err
	}
	id := strings.TrimPrefix(req.GetId(), "contacts/")
	if _, err := s.store.GetContact(ctx, tid, id); err != nil {
		return nil, s.storeError(ctx, err, "contact "+strconv.Quote(id))
	}
	query := "audit\x00" + id
	before, err := paging.Position(req.GetPageToken(), query)
	if err != nil {
		return nil, err
	}
	size := paging.Size(req.GetPageSize())
	rows, err := s.store.ListAudit(ctx, tid, id, before, size+1)
	if err != nil {
		return nil, s.storeError(ctx, err, "audit events")
	}
	rows, next := paging.Cut(rows, size, query, func(e store.AuditEvent) string { return e.ID })
	resp := &channelv1.ListContactAuditEventsResponse{NextPageToken: next}
	for _, e := range rows {
		resp.AuditEvents = append(resp.AuditEvents, auditToProto(e))
	}
	return resp, nil
}
