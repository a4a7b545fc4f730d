package channel

import (
	"context"
	"errors"
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
)

// UpdatableOrganizationFields are the update_mask paths UpdateOrganization
// accepts.
var UpdatableOrganizationFields = []string{"name", "region", "industry", "size", "domains", "tier", "custom_fields"}

// domains normalises a request's domains; errors name the field.
func domains(in []string) ([]string, error) {
	out := make([]string, 0, len(in))
	first := map[string]int{}
	for i, d := range in {
		n, err := store.NormalizeDomain(d)
		if err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "organization.domains[%d]: %v", i, err)
		}
		if j, ok := first[n]; ok {
			return nil, status.Errorf(codes.InvalidArgument, "organization.domains[%d]: %q repeats organization.domains[%d]; accepted: each domain once", i, n, j)
		}
		first[n] = i
		out = append(out, n)
	}
	return out, nil
}

func domainTaken(err *store.ConflictError, ds []string) error {
	field := "organization.domains"
	if i := slices.Index(ds, err.Domain); i >= 0 {
		field = "organization.domains[" + strconv.Itoa(i) + "]"
	}
	return status.Errorf(codes.AlreadyExists, "%s: %q belongs to organization %s; accepted: a domain no other organization of this tenant has", field, err.Domain, err.Holder)
}

// CreateOrganization implements channelv1.OrganizationServiceServer.
func (o orgServer) CreateOrganization(ctx context.Context, req *channelv1.CreateOrganizationRequest) (*channelv1.CreateOrganizationResponse, error) {
	s := o.s
	tid, err := callTenant(ctx)
	if err != nil {
		return nil, err
	}
	in := req.GetOrganization()
	name := strings.TrimSpace(in.GetName())
	if name == "" {
		return nil, status.Error(codes.InvalidArgument, "organization.name: is required; accepted: 1 to 200 characters")
	}
	ds, err := domains(in.GetDomains())
	if err != nil {
		return nil, err
	}
	org, err := s.store.CreateOrganization(ctx, store.Organization{
		Tenant:       tid,
		Name:         name,
		Region:       in.GetRegion(),
		Industry:     in.GetIndustry(),
		Size:         in.GetSize(),
		Domains:      ds,
		Tier:         in.GetTier(),
		CustomFields: in.GetCustomFields(),
	})
	if conflict, ok := errors.AsType[*store.ConflictError](err); ok {
		return nil, domainTaken(conflict, ds)
	}
	if err != nil {
		return nil, s.storeError(ctx, err, "organization")
	}
	return &channelv1.CreateOrganizationResponse{Organization: orgToProto(org)}, nil
}

// GetOrganization implements channelv1.OrganizationServiceServer.
func (o orgServer) GetOrganization(ctx context.Context, req *channelv1.GetOrganizationRequest) (*channelv1.GetOrganizationResponse, error) {
	tid, err := callTenant(ctx)
	if err != nil {
		return nil, err
	}
	id := strings.TrimPrefix(req.GetId(), "organizations/")
	org, err := o.s.store.GetOrganization(ctx, tid, id)
	if err != nil {
		return nil, o.s.storeError(ctx, err, "organization "+strconv.Quote(id))
	}
	return &channelv1.GetOrganizationResponse{Organization: orgToProto(org)}, nil
}

// ListOrganizations implements channelv1.OrganizationServiceServer.
func (o orgServer) ListOrganizations(ctx context.Context, req *channelv1.ListOrganizationsRequest) (*channelv1.ListOrganizationsResponse, error) {
	tid, err := callTenant(ctx)
	if err != nil {
		return nil, err
	}
	q, err := orgQuery(req.GetFilter())
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	query := "organizations\x00" + req.GetFilter()
	if q.BeforeID, err = paging.Position(req.GetPageToken(), query); err != nil {
		return nil, err
	}
	size := paging.Size(req.GetPageSize())
	q.Limit = size + 1
	rows, err := o.s.store.ListOrganizations(ctx, tid, q)
	if err != nil {
		return nil, o.s.storeError(ctx, err, "organizations")
	}
	rows, next := paging.Cut(rows, size, query, func(o store.Organization) string { return o.ID })
	resp := &channelv1.ListOrganizationsResponse{NextPageToken: next}
	for _, org := range rows {
		resp.Organizations = append(resp.Organizations, orgToProto(org))
	}
	return resp, nil
}

// UpdateOrganization implements channelv1.OrganizationServiceServer.
func (o orgServer) UpdateOrganization(ctx context.Context, req *channelv1.UpdateOrganizationRequest) (*channelv1.UpdateOrganizationResponse, error) {
	s := o.s
	tid, err := callTenant(ctx)
	if err != nil {
		return nil, err
	}
	in := req.GetOrganization()
	id := strings.TrimPrefix(in.GetId(), "organizations/")
	if id == "" {
		return nil, status.Error(codes.InvalidArgument, "organization.id: is required")
	}
	paths, err := updatemask.Paths(req.GetUpdateMask(), in, UpdatableOrganizationFields)
	if err != nil {
		return nil, err
	}
	want, err := etag.Expected(ctx, in.GetEtag(), "organization")
	if err != nil {
		return nil, err
	}
	has := func(f string) bool { return slices.Contains(paths, f) }
	name := strings.TrimSpace(in.GetName())
	if has("name") && name == "" {
		return nil, status.Error(codes.InvalidArgument, "organization.name: is required; accepted: 1 to 200 characters")
	}
	var ds []string
	if has("domains") {
		if ds, err = domains(in.GetDomains()); err != nil {
			return nil, err
		}
	}
	org, err := s.store.UpdateOrganization(ctx, tid, id, want, func(org *store.Organization) error {
		for _, f := range paths {
			switch f {
			case "name":
				org.Name = name
			case "region":
				org.Region = in.GetRegion()
			case "industry":
				org.Industry = in.GetIndustry()
			case "size":
				org.Size = in.GetSize()
			case "domains":
				org.Domains = ds
			case "tier":
				org.Tier = in.GetTier()
			case "custom_fields":
				org.CustomFields = maps.Clone(in.GetCustomFields())
			}
		}
		return nil
	})
	if conflict, ok := errors.AsType[*store.ConflictError](err); ok {
		return nil, domainTaken(conflict, ds)
	}
	if errors.Is(err, store.ErrVersion) {
		return nil, status.Errorf(codes.Aborted, "etag: organization %q has changed since version %q; read it again and retry", id, etag.Format(want))
	}
	if err != nil {
		return nil, s.storeError(ctx, err, "organization "+strconv.Quote(id))
	}
	return &channelv1.UpdateOrganizationResponse{Organization: orgToProto(org)}, nil
}
