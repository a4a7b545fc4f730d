package channel_test

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/testing/protocmp"

	channelv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/channel/v1"
	"github.com/kubedesk/kubedesk/services/channel/store"
	"github.com/kubedesk/kubedesk/services/platform/etag"
)

const (
	emailType  = channelv1.IdentityType_IDENTITY_TYPE_EMAIL
	phoneType  = channelv1.IdentityType_IDENTITY_TYPE_PHONE
	wechatType = channelv1.IdentityType_IDENTITY_TYPE_WECHAT
)

func TestCreateContact(t *testing.T) {
	e := newEnv(t)
	org := e.createOrg(acme, &channelv1.Organization{Name: "Acme"})
	c := e.createContact(acme, &channelv1.Contact{
		DisplayName: " 李娜 ",
		Identities: []*channelv1.Identity{
			{Type: emailType, Value: " Li.Na@Acme.Example ", Primary: true},
			{Type: phoneType, Value: "+86 138-0000-0000"},
			{Type: wechatType, Value: "oAbC123"},
		},
		OrganizationId: org.GetId(),
		Locale:         "zh-CN",
		TimeZone:       "Asia/Shanghai",
		CustomFields:   map[string]string{"crm": "42"},
	})
	want := &channelv1.Contact{
		DisplayName: "李娜",
		Identities: []*channelv1.Identity{
			{Type: emailType, Value: "li.na@acme.example", Primary: true},
			{Type: phoneType, Value: "+8613800000000"},
			{Type: wechatType, Value: "oAbC123"},
		},
		OrganizationId: org.GetId(), Tier: "standard", Locale: "zh-CN", TimeZone: "Asia/Shanghai",
		CustomFields: map[string]string{"crm": "42"}, Version: 1, Etag: "v1",
	}
	if diff := cmp.Diff(want, c, protocmp.Transform(),
		protocmp.IgnoreFields(&channelv1.Contact{}, "id", "create_time", "update_time")); diff != "" {
		t.Errorf("created contact (-want +got):\n%s", diff)
	}
	got, err := e.srv.GetContact(call(acme), &channelv1.GetContactRequest{Id: "contacts/" + c.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(c, got.GetContact(), protocmp.Transform()); diff != "" {
		t.Errorf("GetContact (-created +got):\n%s", diff)
	}
	// Another tenant's contact does not exist for the caller.
	_, err = e.srv.GetContact(call(globex), &channelv1.GetContactRequest{Id: c.GetId()})
	wantStatus(t, err, codes.NotFound, fmt.Sprintf("contact %q not found", c.GetId()))
}

func TestCreateContactBadInput(t *testing.T) {
	e := newEnv(t)
	holder := e.createContact(acme, &channelv1.Contact{Identities: []*channelv1.Identity{emailID("taken@acme.example")}})
	globexOrg := e.createOrg(globex, &channelv1.Organization{Name: "Globex"})
	for _, tc := range []struct {
		name string
		in   *channelv1.Contact
		code codes.Code
		msg  string
	}{
		{"phone", &channelv1.Contact{Identities: []*channelv1.Identity{emailID("a@acme.example"), {Type: phoneType, Value: "+86 abc"}}},
			codes.InvalidArgument, `contact.identities[1].value: "+86 abc" is not a phone number; accepted: E.164, e.g. +8613800000000`},
		{"email", &channelv1.Contact{Identities: []*channelv1.Identity{emailID("not mail")}},
			codes.InvalidArgument, `contact.identities[0].value: "not mail" is not an email address; accepted: an address such as li.na@example.com`},
		{"wechat", &channelv1.Contact{Identities: []*channelv1.Identity{{Type: wechatType, Value: "a\x01b"}}},
			codes.InvalidArgument, `contact.identities[0].value: "a\x01b" is not a wechat ID; accepted: 1 to 128 printable characters`},
		{"repeat", &channelv1.Contact{Identities: []*channelv1.Identity{emailID("a@acme.example"), emailID("A@acme.example")}},
			codes.InvalidArgument, `contact.identities[1]: email:a@acme.example repeats contact.identities[0]; accepted: each identity once`},
		{"two primaries", &channelv1.Contact{Identities: []*channelv1.Identity{
			{Type: emailType, Value: "a@acme.example", Primary: true}, {Type: emailType, Value: "b@acme.example", Primary: true}}},
			codes.InvalidArgument, `contact.identities[1].primary: contact.identities[0] is the primary email already; accepted: one primary identity per type`},
		{"time zone", &channelv1.Contact{TimeZone: "Mars/Olympus"},
			codes.InvalidArgument, `contact.time_zone: "Mars/Olympus" is not an IANA time zone (e.g. "Asia/Shanghai", "Europe/Berlin", "UTC")`},
		{"organization of another tenant", &channelv1.Contact{OrganizationId: globexOrg.GetId()},
			codes.InvalidArgument, fmt.Sprintf(`contact.organization_id: no organization %q in this tenant; accepted: the id of one of its organizations, or empty`, globexOrg.GetId())},
		{"taken", &channelv1.Contact{Identities: []*channelv1.Identity{{Type: wechatType, Value: "oNew"}, emailID("TAKEN@acme.example")}},
			codes.AlreadyExists, fmt.Sprintf(`contact.identities[1]: email:taken@acme.example belongs to contact %s; accepted: an identity no other contact of this tenant holds (or merge the two contacts)`, holder.GetId())},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.srv.CreateContact(call(acme), &channelv1.CreateContactRequest{Contact: tc.in})
			wantStatus(t, err, tc.code, tc.msg)
		})
	}
}

func TestListContacts(t *testing.T) {
	e := newEnv(t)
	org := e.createOrg(acme, &channelv1.Organization{Name: "Acme"})
	var ids []string
	for i := range 5 {
		c := &channelv1.Contact{DisplayName: fmt.Sprintf("Customer %d", i), Identities: []*channelv1.Identity{emailID(fmt.Sprintf("c%d@acme.example", i))}}
		if i%2 == 0 {
			c.Tier, c.OrganizationId = "vip", org.GetId()
		}
		if i == 1 {
			c.DisplayName = "王小明"
			c.Identities = append(c.Identities, &channelv1.Identity{Type: wechatType, Value: "oWang"})
		}
		ids = append(ids, e.createContact(acme, c).GetId())
	}
	e.createContact(globex, &channelv1.Contact{DisplayName: "Customer 0"})
	if _, err := e.st.MergeContacts(t.Context(), acme, ids[3], ids[4], store.Actor{}); err != nil {
		t.Fatal(err)
	}
	list := func(filter string, size int32) ([]string, error) {
		var out []string
		token := ""
		for {
			resp, err := e.srv.ListContacts(call(acme), &channelv1.ListContactsRequest{Filter: filter, PageSize: size, PageToken: token})
			if err != nil {
				return nil, err
			}
			for _, c := range resp.GetContacts() {
				out = append(out, c.GetId())
			}
			if token = resp.GetNextPageToken(); token == "" {
				return out, nil
			}
		}
	}
	for _, tc := range []struct {
		filter string
		want   []string
	}{
		{"", []string{ids[4], ids[2], ids[1], ids[0]}},
		{"email = C2@ACME.example", []string{ids[2]}},
		{"email = c3@acme.example", []string{ids[4]}}, // moved by the merge
		{"identity = wechat:oWang", []string{ids[1]}},
		{"organization = " + org.GetId(), []string{ids[4], ids[2], ids[0]}},
		{"tier = vip AND name : customer", []string{ids[4], ids[2], ids[0]}},
		{"name:王", []string{ids[1]}},
		{`name : "小明"`, []string{ids[1]}},
		{"merged = true", []string{ids[3]}},
		{"merged = false", []string{ids[4], ids[2], ids[1], ids[0]}},
	} {
		for _, size := range []int32{0, 1} {
			got, err := list(tc.filter, size)
			if err != nil {
				t.Errorf("filter %q: %v", tc.filter, err)
				continue
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("filter %q, page size %d (-want +got):\n%s", tc.filter, size, diff)
			}
		}
	}
	for _, tc := range []struct{ filter, msg string }{
		{"colour = red", `filter: unknown field "colour"; accepted: email, identity, organization, tier, name, merged`},
		{"identity = fax:123", `filter: identity: "fax:123" names no identity type; accepted: TYPE:VALUE with TYPE one of email, phone, wechat, web, external, e.g. wechat:oAbC123`},
		{"identity = phone:12", `filter: identity: "12" is not a phone number; accepted: E.164, e.g. +8613800000000`},
		{"merged = maybe", `filter: merged: "maybe" is not true or false; accepted: merged = true, merged = false`},
		{"tier = vip OR tier = standard", `filter: at character 12: expected AND between comparisons, found "OR"`},
		{"tier = vip AND tier = x", `filter: tier is compared twice; accepted: each field once`},
		{"email = a@b.example AND identity = web:x", `filter: email and identity both name an identity; accepted: one of them`},
		{`name = "open`, `filter: at character 13: quoted value is not closed`},
		{"tier", `filter: at character 5: expected = or : after "tier"`},
		{"tier = vip AND", `filter: at character 15: expected a comparison after AND`},
	} {
		_, err := e.srv.ListContacts(call(acme), &channelv1.ListContactsRequest{Filter: tc.filter})
		wantStatus(t, err, codes.InvalidArgument, tc.msg)
	}
	// A token is bound to its filter.
	resp, err := e.srv.ListContacts(call(acme), &channelv1.ListContactsRequest{PageSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.srv.ListContacts(call(acme), &channelv1.ListContactsRequest{PageSize: 1, PageToken: resp.GetNextPageToken(), Filter: "tier = vip"})
	if err == nil {
		t.Error("a page token of another filter was accepted")
	}
}

func TestUpdateContact(t *testing.T) {
	e := newEnv(t)
	c := e.createContact(acme, &channelv1.Contact{DisplayName: "Old", Identities: []*channelv1.Identity{emailID("a@acme.example")}})
	other := e.createContact(acme, &channelv1.Contact{Identities: []*channelv1.Identity{emailID("b@acme.example")}})
	resp, err := e.srv.UpdateContact(call(acme), &channelv1.UpdateContactRequest{
		Contact:    &channelv1.Contact{Id: c.GetId(), DisplayName: "New", Tier: "gold", Etag: c.GetEtag()},
		UpdateMask: mask("display_name", "tier"),
	})
	if err != nil {
		t.Fatal(err)
	}
	u := resp.GetContact()
	if u.GetDisplayName() != "New" || u.GetTier() != "gold" || u.GetEtag() != "v2" || len(u.GetIdentities()) != 1 {
		t.Errorf("updated = %v", u)
	}
	for _, tc := range []struct {
		name string
		ctx  func() *channelv1.UpdateContactRequest
		kv   []string
		code codes.Code
		msg  string
	}{
		{"stale etag", func() *channelv1.UpdateContactRequest {
			return &channelv1.UpdateContactRequest{Contact: &channelv1.Contact{Id: c.GetId(), DisplayName: "x", Etag: "v1"}, UpdateMask: mask("display_name")}
		}, nil, codes.Aborted, fmt.Sprintf(`etag: contact %q has changed since version "v1"; read it again and retry`, c.GetId())},
		{"stale If-Match", func() *channelv1.UpdateContactRequest {
			return &channelv1.UpdateContactRequest{Contact: &channelv1.Contact{Id: c.GetId(), DisplayName: "x"}, UpdateMask: mask("display_name")}
		}, []string{etag.IfMatchMetadata, `"v1"`}, codes.Aborted, fmt.Sprintf(`etag: contact %q has changed since version "v1"; read it again and retry`, c.GetId())},
		{"taken identity", func() *channelv1.UpdateContactRequest {
			return &channelv1.UpdateContactRequest{Contact: &channelv1.Contact{Id: c.GetId(), Identities: []*channelv1.Identity{emailID("a@acme.example"), emailID("b@acme.example")}}, UpdateMask: mask("identities")}
		}, nil, codes.AlreadyExists, fmt.Sprintf(`contact.identities[1]: email:b@acme.example belongs to contact %s; accepted: an identity no other contact of this tenant holds (or merge the two contacts)`, other.GetId())},
		{"not updatable", func() *channelv1.UpdateContactRequest {
			return &channelv1.UpdateContactRequest{Contact: &channelv1.Contact{Id: c.GetId()}, UpdateMask: mask("merged_into")}
		}, nil, codes.InvalidArgument, `update_mask: "merged_into" cannot be updated; updatable: display_name, identities, organization_id, tier, locale, time_zone, custom_fields`},
		{"another tenant's", func() *channelv1.UpdateContactRequest {
			return &channelv1.UpdateContactRequest{Contact: &channelv1.Contact{Id: c.GetId(), DisplayName: "x"}, UpdateMask: mask("display_name")}
		}, nil, codes.NotFound, fmt.Sprintf(`contact %q not found`, c.GetId())},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tid := acme
			if tc.name == "another tenant's" {
				tid = globex
			}
			_, err := e.srv.UpdateContact(call(tid, tc.kv...), tc.ctx())
			wantStatus(t, err, tc.code, tc.msg)
		})
	}
	got, _ := e.st.GetContact(t.Context(), acme, c.GetId())
	if got.Version != 2 {
		t.Errorf("version after refused updates = %d, want 2", got.Version)
	}
}

func TestResolve(t *testing.T) {
	e := newEnv(t)
	org := e.createOrg(acme, &channelv1.Organization{Name: "Acme", Domains: []string{"Acme.Example"}})
	c, created, err := e.srv.Resolve(call(acme), store.Identity{Type: emailType, Value: "Zhang@acme.example"}, "张伟")
	if err != nil || !created || c.OrganizationID != org.GetId() || c.DisplayName != "张伟" {
		t.Fatalf("Resolve = %+v, %v, %v; want a new contact of organization %s", c, created, err, org.GetId())
	}
	again, created, err := e.srv.Resolve(call(acme), store.Identity{Type: emailType, Value: "zhang@ACME.example"}, "")
	if err != nil || created || again.ID != c.ID {
		t.Errorf("second Resolve = %s, %v, %v; want %s", again.ID, created, err, c.ID)
	}
	_, _, err = e.srv.Resolve(call(acme), store.Identity{Type: phoneType, Value: "+86 abc"}, "")
	wantStatus(t, err, codes.InvalidArgument, `identity: "+86 abc" is not a phone number; accepted: E.164, e.g. +8613800000000`)
}

func TestListContactAuditEvents(t *testing.T) {
	e := newEnv(t)
	into := e.createContact(acme, &channelv1.Contact{})
	var merged []string
	for i := range 3 {
		c := e.createContact(acme, &channelv1.Contact{Identities: []*channelv1.Identity{emailID(fmt.Sprintf("m%d@acme.example", i))}})
		if _, err := e.st.MergeContacts(t.Context(), acme, c.GetId(), into.GetId(), store.Actor{ID: "user-ana"}); err != nil {
			t.Fatal(err)
		}
		merged = append([]string{c.GetId()}, merged...)
	}
	var got []string
	token := ""
	for {
		resp, err := e.srv.ListContactAuditEvents(call(acme), &channelv1.ListContactAuditEventsRequest{Id: "contacts/" + into.GetId(), PageSize: 2, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range resp.GetAuditEvents() {
			got = append(got, ev.GetOtherContactId())
		}
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}
	if diff := cmp.Diff(merged, got); diff != "" {
		t.Errorf("audit events, newest first (-want +got):\n%s", diff)
	}
	_, err := e.srv.ListContactAuditEvents(call(globex), &channelv1.ListContactAuditEventsRequest{Id: into.GetId()})
	wantStatus(t, err, codes.NotFound, fmt.Sprintf("contact %q not found", into.GetId()))
}
