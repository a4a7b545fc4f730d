package channel_test

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"

	channelv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/channel/v1"
)

func TestOrganizations(t *testing.T) {
	e := newEnv(t)
	acmeOrg := e.createOrg(acme, &channelv1.Organization{Name: " Acme 中国 ", Region: "APAC", Domains: []string{"Acme.Example", "acme.cn."},
		Size: channelv1.OrganizationSize_ORGANIZATION_SIZE_201_TO_1000})
	if acmeOrg.GetName() != "Acme 中国" || acmeOrg.GetTier() != "standard" || acmeOrg.GetEtag() != "v1" ||
		!cmp.Equal(acmeOrg.GetDomains(), []string{"acme.example", "acme.cn"}) {
		t.Errorf("created = %v", acmeOrg)
	}
	vip := e.createOrg(acme, &channelv1.Organization{Name: "Initech", Tier: "vip", Domains: []string{"initech.example"}})
	for _, tc := range []struct {
		name string
		in   *channelv1.Organization
		code codes.Code
		msg  string
	}{
		{"no name", &channelv1.Organization{Name: "  "}, codes.InvalidArgument, "organization.name: is required; accepted: 1 to 200 characters"},
		{"bad domain", &channelv1.Organization{Name: "x", Domains: []string{"ok.example", "not a domain"}},
			codes.InvalidArgument, `organization.domains[1]: "not a domain" is not a domain name; accepted: a DNS name such as example.com`},
		{"repeated domain", &channelv1.Organization{Name: "x", Domains: []string{"a.example", "A.example"}},
			codes.InvalidArgument, `organization.domains[1]: "a.example" repeats organization.domains[0]; accepted: each domain once`},
		{"taken domain", &channelv1.Organization{Name: "x", Domains: []string{"x.example", "ACME.cn"}},
			codes.AlreadyExists, fmt.Sprintf(`organization.domains[1]: "acme.cn" belongs to organization %s; accepted: a domain no other organization of this tenant has`, acmeOrg.GetId())},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.orgs.CreateOrganization(call(acme), &channelv1.CreateOrganizationRequest{Organization: tc.in})
			wantStatus(t, err, tc.code, tc.msg)
		})
	}
	// The same domain in another tenant is no conflict.
	e.createOrg(globex, &channelv1.Organization{Name: "Acme", Domains: []string{"acme.cn"}})

	for _, tc := range []struct {
		filter string
		want   []string
	}{
		{"", []string{vip.GetId(), acmeOrg.GetId()}},
		{"name : 中国", []string{acmeOrg.GetId()}},
		{"domain = ACME.example", []string{acmeOrg.GetId()}},
		{"tier = vip", []string{vip.GetId()}},
	} {
		resp, err := e.orgs.ListOrganizations(call(acme), &channelv1.ListOrganizationsRequest{Filter: tc.filter})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, o := range resp.GetOrganizations() {
			got = append(got, o.GetId())
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("filter %q (-want +got):\n%s", tc.filter, diff)
		}
	}
	_, err := e.orgs.ListOrganizations(call(acme), &channelv1.ListOrganizationsRequest{Filter: "size = 5"})
	wantStatus(t, err, codes.InvalidArgument, `filter: unknown field "size"; accepted: name, domain, tier`)

	u, err := e.orgs.UpdateOrganization(call(acme), &channelv1.UpdateOrganizationRequest{
		Organization: &channelv1.Organization{Id: acmeOrg.GetId(), Industry: "Retail", Etag: "v1"}, UpdateMask: mask("industry")})
	if err != nil || u.GetOrganization().GetIndustry() != "Retail" || u.GetOrganization().GetEtag() != "v2" {
		t.Fatalf("update = %v, %v", u, err)
	}
	_, err = e.orgs.UpdateOrganization(call(acme), &channelv1.UpdateOrganizationRequest{
		Organization: &channelv1.Organization{Id: acmeOrg.GetId(), Industry: "x", Etag: "v1"}, UpdateMask: mask("industry")})
	wantStatus(t, err, codes.Aborted, fmt.Sprintf(`etag: organization %q has changed since version "v1"; read it again and retry`, acmeOrg.GetId()))
	_, err = e.orgs.UpdateOrganization(call(acme), &channelv1.UpdateOrganizationRequest{
		Organization: &channelv1.Organization{Id: vip.GetId(), Domains: []string{"acme.example"}}, UpdateMask: mask("domains")})
	wantStatus(t, err, codes.AlreadyExists, fmt.Sprintf(`organization.domains[0]: "acme.example" belongs to organization %s; accepted: a domain no other organization of this tenant has`, acmeOrg.GetId()))
	_, err = e.orgs.GetOrganization(call(globex), &channelv1.GetOrganizationRequest{Id: acmeOrg.GetId()})
	wantStatus(t, err, codes.NotFound, fmt.Sprintf("organization %q not found", acmeOrg.GetId()))
}
