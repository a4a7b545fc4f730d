package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	channelv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/channel/v1"
	iamv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/iam/v1"
	"github.com/kubedesk/kubedesk/services/platform/storage/pgtest"
)

var cluster *pgtest.Cluster

// TestMain starts the PostgreSQL cluster the contract suite runs against.
// Without it the tests fail rather than skip: an untested engine is not
// shipped.
func TestMain(m *testing.M) { pgtest.Main(m, &cluster, pgtest.Fast...) }

// engines are SQLite and PostgreSQL, each on a fresh database per test.
var engines = pgtest.Engines(&cluster, "channel.db",
	func(ctx context.Context, path string) (Store, error) { return OpenSQLite(ctx, path) },
	func(ctx context.Context, url string) (Store, error) { return OpenPostgres(ctx, url) })

// contract runs f against a fresh store of every engine, with the same
// expectations.
func contract(t *testing.T, f func(t *testing.T, s Store)) { pgtest.Contract(t, engines, f) }

var ctx = context.Background()

const (
	email    = channelv1.IdentityType_IDENTITY_TYPE_EMAIL
	phone    = channelv1.IdentityType_IDENTITY_TYPE_PHONE
	wechat   = channelv1.IdentityType_IDENTITY_TYPE_WECHAT
	mergedTo = channelv1.ContactAuditEventType_CONTACT_AUDIT_EVENT_TYPE_MERGED_INTO
	mergedFr = channelv1.ContactAuditEventType_CONTACT_AUDIT_EVENT_TYPE_MERGED_FROM
)

var ana = Actor{ID: "user-1", Kind: iamv1.PrincipalKind_PRINCIPAL_KIND_USER, DisplayName: "Ana"}

func mustCreate(t *testing.T, s Store, c Contact) Contact {
	t.Helper()
	got, err := s.CreateContact(ctx, c)
	if err != nil {
		t.Fatalf("CreateContact(%s): %v", c.DisplayName, err)
	}
	return got
}

func mustOrg(t *testing.T, s Store, o Organization) Organization {
	t.Helper()
	got, err := s.CreateOrganization(ctx, o)
	if err != nil {
		t.Fatalf("CreateOrganization(%s): %v", o.Name, err)
	}
	return got
}

func TestOpen(t *testing.T) {
	pgtest.CheckOpen(t, cluster, Open, "channel.db",
		func(s Store) bool { _, ok := s.(*SQLite); return ok },
		func(s Store) bool { _, ok := s.(*Postgres); return ok })
}

func TestContacts(t *testing.T) {
	contract(t, func(t *testing.T, s Store) {
		in := Contact{
			Tenant: "acme", DisplayName: "李娜 👩🏽‍💻",
			Identities: []Identity{
				{Type: email, Value: "li.na@acme.example", Primary: true},
				{Type: phone, Value: "+8613800000000"},
			},
			Tier: "vip", Locale: "zh-CN", TimeZone: "Asia/Shanghai",
			CustomFields: map[string]string{"crm.id": "42"},
		}
		c := mustCreate(t, s, in)
		if c.ID == "" || c.Version != 1 || c.CreateTime.IsZero() || !c.CreateTime.Equal(c.UpdateTime) {
			t.Errorf("created = %+v, want an ID, version 1 and equal times", c)
		}
		got, err := s.GetContact(ctx, "acme", c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(c, got); diff != "" {
			t.Errorf("GetContact (-created +read):\n%s", diff)
		}
		bare := mustCreate(t, s, Contact{Tenant: "acme"})
		if bare.Tier != DefaultTier || bare.Identities == nil || bare.CustomFields == nil {
			t.Errorf("bare contact = %+v, want tier standard and empty, non-nil lists", bare)
		}
		// Tenant isolation: another tenant's contact is not found.
		if _, err := s.GetContact(ctx, "globex", c.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("GetContact from globex: %v, want ErrNotFound", err)
		}
		// The same identity in another tenant is another contact's.
		if _, err := s.CreateContact(ctx, Contact{Tenant: "globex", Identities: in.Identities[:1]}); err != nil {
			t.Errorf("same identity in globex: %v", err)
		}
	})
}

func TestIdentityUniqueness(t *testing.T) {
	contract(t, func(t *testing.T, s Store) {
		a := mustCreate(t, s, Contact{Tenant: "acme", Identities: []Identity{{Type: email, Value: "a@acme.example"}}})
		b := mustCreate(t, s, Contact{Tenant: "acme", Identities: []Identity{{Type: wechat, Value: "oB"}}})
		_, err := s.CreateContact(ctx, Contact{Tenant: "acme", Identities: []Identity{{Type: phone, Value: "+4930123456"}, {Type: email, Value: "a@acme.example"}}})
		want := &ConflictError{Identity: Identity{Type: email, Value: "a@acme.example"}, Holder: a.ID}
		if conflict, ok := errors.AsType[*ConflictError](err); !ok || *conflict != *want {
			t.Fatalf("create with a's email: %v, want %v", err, want)
		}
		if !errors.Is(err, ErrConflict) {
			t.Errorf("%v is not ErrConflict", err)
		}
		// Nothing of the refused contact is left: its phone is free.
		mustCreate(t, s, Contact{Tenant: "acme", Identities: []Identity{{Type: phone, Value: "+4930123456"}}})
		_, err = s.UpdateContact(ctx, "acme", b.ID, 0, func(c *Contact) error {
			c.Identities = append(c.Identities, Identity{Type: email, Value: "a@acme.example"})
			return nil
		})
		if conflict, ok := errors.AsType[*ConflictError](err); !ok || conflict.Holder != a.ID {
			t.Fatalf("update b with a's email: %v, want a conflict naming %s", err, a.ID)
		}
		got, _ := s.GetContact(ctx, "acme", b.ID)
		if got.Version != 1 || len(got.Identities) != 1 {
			t.Errorf("b after the refused update = %+v, want it unchanged", got)
		}
		// An update keeping its own identities is no conflict.
		if _, err := s.UpdateContact(ctx, "acme", a.ID, 1, func(c *Contact) error { c.DisplayName = "A"; return nil }); err != nil {
			t.Errorf("update a keeping its email: %v", err)
		}
		// Unnormalised identities are refused.
		if _, err := s.CreateContact(ctx, Contact{Tenant: "acme", Identities: []Identity{{Type: email, Value: "X@acme.example"}}}); err == nil {
			t.Error("an upper-case email was stored")
		}
	})
}

func TestUpdateContactVersion(t *testing.T) {
	contract(t, func(t *testing.T, s Store) {
		c := mustCreate(t, s, Contact{Tenant: "acme", DisplayName: "Old"})
		u, err := s.UpdateContact(ctx, "acme", c.ID, 1, func(c *Contact) error { c.DisplayName = "New"; return nil })
		if err != nil || u.Version != 2 || u.DisplayName != "New" {
			t.Fatalf("update = %+v, %v", u, err)
		}
		if _, err := s.UpdateContact(ctx, "acme", c.ID, 1, func(*Contact) error { return nil }); !errors.Is(err, ErrVersion) {
			t.Errorf("update at version 1: %v, want ErrVersion", err)
		}
		boom := errors.New("boom")
		if _, err := s.UpdateContact(ctx, "acme", c.ID, 0, func(*Contact) error { return boom }); !errors.Is(err, boom) {
			t.Errorf("mutate's error: %v, want it as is", err)
		}
		if _, err := s.UpdateContact(ctx, "globex", c.ID, 0, func(*Contact) error { return nil }); !errors.Is(err, ErrNotFound) {
			t.Errorf("update from globex: %v, want ErrNotFound", err)
		}
	})
}

func TestMerge(t *testing.T) {
	contract(t, func(t *testing.T, s Store) {
		from := mustCreate(t, s, Contact{Tenant: "acme", DisplayName: "From", Identities: []Identity{
			{Type: email, Value: "old@acme.example", Primary: true}, {Type: wechat, Value: "oFrom", Primary: true},
		}})
		into := mustCreate(t, s, Contact{Tenant: "acme", DisplayName: "Into", Identities: []Identity{
			{Type: email, Value: "new@acme.example", Primary: true},
		}})
		got, err := s.MergeContacts(ctx, "acme", from.ID, into.ID, ana)
		if err != nil {
			t.Fatal(err)
		}
		wantIDs := []Identity{
			{Type: email, Value: "new@acme.example", Primary: true},
			{Type: email, Value: "old@acme.example"}, // into keeps its primary email
			{Type: wechat, Value: "oFrom", Primary: true},
		}
		if diff := cmp.Diff(wantIDs, got.Identities); diff != "" {
			t.Errorf("into's identities (-want +got):\n%s", diff)
		}
		if got.Version != 2 {
			t.Errorf("into version %d, want 2", got.Version)
		}
		merged, _ := s.GetContact(ctx, "acme", from.ID)
		if merged.MergedInto != into.ID || len(merged.Identities) != 0 || merged.DisplayName != "From" {
			t.Errorf("merged contact = %+v, want it readable, merged into %s, without identities", merged, into.ID)
		}
		// The identities resolve to into now.
		r, created, err := s.ResolveIdentity(ctx, "acme", Identity{Type: wechat, Value: "oFrom"}, "x")
		if err != nil || created || r.ID != into.ID {
			t.Errorf("resolve oFrom = %s, %v, %v; want %s", r.ID, created, err, into.ID)
		}
		// Audit: one event on each side, newest first.
		for _, side := range []struct {
			id, other string
			typ       channelv1.ContactAuditEventType
		}{{from.ID, into.ID, mergedTo}, {into.ID, from.ID, mergedFr}} {
			evs, err := s.ListAudit(ctx, "acme", side.id, "", 10)
			if err != nil || len(evs) != 1 {
				t.Fatalf("audit of %s = %v, %v; want one event", side.id, evs, err)
			}
			e := evs[0]
			if e.Type != side.typ || e.OtherContactID != side.other || e.Actor != ana || len(e.Identities) != 2 {
				t.Errorf("audit event = %+v", e)
			}
		}
		if err := s.RecordTicketsMoved(ctx, "acme", from.ID, into.ID, 3); err != nil {
			t.Fatal(err)
		}
		evs, _ := s.ListAudit(ctx, "acme", into.ID, "", 10)
		if evs[0].TicketsMoved != 3 {
			t.Errorf("tickets moved = %d, want 3", evs[0].TicketsMoved)
		}
		// A merged contact is read-only.
		_, err = s.UpdateContact(ctx, "acme", from.ID, 0, func(c *Contact) error { c.DisplayName = "x"; return nil })
		if m, ok := errors.AsType[*MergedError](err); !ok || m.Error() != fmt.Sprintf("contact %s was merged into %s", from.ID, into.ID) {
			t.Errorf("update merged: %v, want a MergedError", err)
		}
		// Merging again into the same contact is a no-op retry.
		if again, err := s.MergeContacts(ctx, "acme", from.ID, into.ID, ana); err != nil || again.Version != 2 {
			t.Errorf("merge again = v%d, %v; want into unchanged", again.Version, err)
		}
		third := mustCreate(t, s, Contact{Tenant: "acme"})
		if _, err := s.MergeContacts(ctx, "acme", third.ID, from.ID, ana); !errors.Is(err, ErrMerged) {
			t.Errorf("merge into a merged contact: %v, want ErrMerged", err)
		}
		if _, err := s.MergeContacts(ctx, "acme", from.ID, third.ID, ana); !errors.Is(err, ErrMerged) {
			t.Errorf("merge a merged contact elsewhere: %v, want ErrMerged", err)
		}
		if _, err := s.MergeContacts(ctx, "acme", third.ID, third.ID, ana); !errors.Is(err, ErrSameContact) {
			t.Errorf("merge into itself: %v, want ErrSameContact", err)
		}
		if _, err := s.MergeContacts(ctx, "globex", third.ID, into.ID, ana); !errors.Is(err, ErrNotFound) {
			t.Errorf("merge from globex: %v, want ErrNotFound", err)
		}
	})
}

func TestListContacts(t *testing.T) {
	contract(t, func(t *testing.T, s Store) {
		org := mustOrg(t, s, Organization{Tenant: "acme", Name: "Acme"})
		var ids []string
		for i := range 7 {
			c := Contact{Tenant: "acme", DisplayName: fmt.Sprintf("Customer %d", i),
				Identities: []Identity{{Type: email, Value: fmt.Sprintf("c%d@acme.example", i)}}}
			if i%2 == 0 {
				c.Tier, c.OrganizationID = "vip", org.ID
			}
			if i == 3 {
				c.DisplayName = "王小明"
			}
			ids = append(ids, mustCreate(t, s, c).ID)
		}
		mustCreate(t, s, Contact{Tenant: "globex", DisplayName: "Customer 0"})
		if _, err := s.MergeContacts(ctx, "acme", ids[5], ids[6], ana); err != nil {
			t.Fatal(err)
		}
		yes, no := true, false
		for _, tc := range []struct {
			name string
			q    ContactQuery
			want []string
		}{
			{"all unmerged", ContactQuery{}, []string{ids[6], ids[4], ids[3], ids[2], ids[1], ids[0]}},
			{"merged only", ContactQuery{Merged: &yes}, []string{ids[5]}},
			{"unmerged", ContactQuery{Merged: &no}, []string{ids[6], ids[4], ids[3], ids[2], ids[1], ids[0]}},
			{"vip", ContactQuery{Tier: "vip"}, []string{ids[6], ids[4], ids[2], ids[0]}},
			{"organization", ContactQuery{OrganizationID: org.ID}, []string{ids[6], ids[4], ids[2], ids[0]}},
			{"name", ContactQuery{NameContains: "王"}, []string{ids[3]}},
			{"name folded", ContactQuery{NameContains: "CUSTOMER 1"}, []string{ids[1]}},
			{"email", ContactQuery{Identity: &Identity{Type: email, Value: "c2@acme.example"}}, []string{ids[2]}},
			{"moved email", ContactQuery{Identity: &Identity{Type: email, Value: "c5@acme.example"}}, []string{ids[6]}},
			{"page", ContactQuery{BeforeID: ids[3]}, []string{ids[2], ids[1], ids[0]}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				q := tc.q
				q.Limit = 10
				got, err := s.ListContacts(ctx, "acme", q)
				if err != nil {
					t.Fatal(err)
				}
				var gotIDs []string
				for _, c := range got {
					gotIDs = append(gotIDs, c.ID)
				}
				if diff := cmp.Diff(tc.want, gotIDs); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
			})
		}
		if _, err := s.ListContacts(ctx, "acme", ContactQuery{}); err == nil {
			t.Error("ListContacts without a limit succeeded")
		}
	})
}

func TestOrganizations(t *testing.T) {
	contract(t, func(t *testing.T, s Store) {
		acme := mustOrg(t, s, Organization{Tenant: "acme", Name: "Acme 中国", Region: "APAC", Industry: "Retail",
			Size: channelv1.OrganizationSize_ORGANIZATION_SIZE_51_TO_200, Domains: []string{"acme.example", "acme.cn"},
			CustomFields: map[string]string{"k": "v"}})
		got, err := s.GetOrganization(ctx, "acme", acme.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(acme, got); diff != "" {
			t.Errorf("GetOrganization (-created +read):\n%s", diff)
		}
		if byDomain, err := s.OrganizationByDomain(ctx, "acme", "ACME.cn"); err != nil || byDomain.ID != acme.ID {
			t.Errorf("OrganizationByDomain = %s, %v; want %s", byDomain.ID, err, acme.ID)
		}
		if _, err := s.OrganizationByDomain(ctx, "globex", "acme.cn"); !errors.Is(err, ErrNotFound) {
			t.Errorf("OrganizationByDomain in globex: %v, want ErrNotFound", err)
		}
		_, err = s.CreateOrganization(ctx, Organization{Tenant: "acme", Name: "Copy", Domains: []string{"acme.cn"}})
		if c, ok := errors.AsType[*ConflictError](err); !ok || c.Domain != "acme.cn" || c.Holder != acme.ID {
			t.Fatalf("second owner of acme.cn: %v, want a conflict naming %s", err, acme.ID)
		}
		mustOrg(t, s, Organization{Tenant: "globex", Name: "Acme too", Domains: []string{"acme.cn"}})
		other := mustOrg(t, s, Organization{Tenant: "acme", Name: "Other", Tier: "vip", Domains: []string{"other.example"}})
		u, err := s.UpdateOrganization(ctx, "acme", acme.ID, 1, func(o *Organization) error {
			o.Domains = []string{"acme.example"}
			return nil
		})
		if err != nil || u.Version != 2 {
			t.Fatalf("update = %+v, %v", u, err)
		}
		// acme.cn is free now.
		if _, err := s.UpdateOrganization(ctx, "acme", other.ID, 0, func(o *Organization) error {
			o.Domains = append(o.Domains, "acme.cn")
			return nil
		}); err != nil {
			t.Errorf("taking the freed acme.cn: %v", err)
		}
		if _, err := s.UpdateOrganization(ctx, "acme", other.ID, 0, func(o *Organization) error {
			o.Domains = append(o.Domains, "acme.example")
			return nil
		}); !errors.Is(err, ErrConflict) {
			t.Errorf("taking acme.example: %v, want ErrConflict", err)
		}
		if _, err := s.UpdateOrganization(ctx, "acme", acme.ID, 1, func(*Organization) error { return nil }); !errors.Is(err, ErrVersion) {
			t.Errorf("update at version 1: %v, want ErrVersion", err)
		}
		for _, tc := range []struct {
			q    OrganizationQuery
			want []string
		}{
			{OrganizationQuery{}, []string{other.ID, acme.ID}},
			{OrganizationQuery{NameContains: "中国"}, []string{acme.ID}},
			{OrganizationQuery{NameContains: "acme"}, []string{acme.ID}},
			{OrganizationQuery{Domain: "acme.cn"}, []string{other.ID}},
			{OrganizationQuery{Tier: "vip"}, []string{other.ID}},
			{OrganizationQuery{BeforeID: other.ID}, []string{acme.ID}},
		} {
			tc.q.Limit = 10
			got, err := s.ListOrganizations(ctx, "acme", tc.q)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, o := range got {
				ids = append(ids, o.ID)
			}
			if diff := cmp.Diff(tc.want, ids); diff != "" {
				t.Errorf("ListOrganizations(%+v) (-want +got):\n%s", tc.q, diff)
			}
		}
	})
}

func TestResolveIdentity(t *testing.T) {
	contract(t, func(t *testing.T, s Store) {
		org := mustOrg(t, s, Organization{Tenant: "acme", Name: "Acme", Domains: []string{"acme.example"}})
		c, created, err := s.ResolveIdentity(ctx, "acme", Identity{Type: email, Value: " Li.Na@ACME.example "}, "李娜")
		if err != nil || !created {
			t.Fatalf("first resolve = %v, %v", created, err)
		}
		want := []Identity{{Type: email, Value: "li.na@acme.example", Primary: true}}
		if diff := cmp.Diff(want, c.Identities); diff != "" || c.OrganizationID != org.ID || c.DisplayName != "李娜" || c.Tier != DefaultTier {
			t.Errorf("resolved contact = %+v, want li.na in organization %s", c, org.ID)
		}
		again, created, err := s.ResolveIdentity(ctx, "acme", Identity{Type: email, Value: "li.na@acme.example"}, "other")
		if err != nil || created || again.ID != c.ID {
			t.Errorf("second resolve = %s, %v, %v; want %s, not created", again.ID, created, err, c.ID)
		}
		// Another tenant gets a contact of its own, without acme's organisation.
		g, created, err := s.ResolveIdentity(ctx, "globex", Identity{Type: email, Value: "li.na@acme.example"}, "")
		if err != nil || !created || g.ID == c.ID || g.OrganizationID != "" {
			t.Errorf("globex resolve = %+v, %v, %v", g, created, err)
		}
		if _, _, err := s.ResolveIdentity(ctx, "acme", Identity{Type: phone, Value: "12"}, ""); err == nil {
			t.Error("resolving a bad phone number succeeded")
		}
	})
}

// TestResolveRace: resolvers racing on one new identity end with one
// contact, on PostgreSQL with 20 goroutines (SQLite serialises writers).
func TestResolveRace(t *testing.T) {
	contract(t, func(t *testing.T, s Store) {
		const n = 20
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			ids     = map[string]bool{}
			created int
		)
		for range n {
			wg.Go(func() {
				c, isNew, err := s.ResolveIdentity(ctx, "acme", Identity{Type: wechat, Value: "oRace"}, "racer")
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				ids[c.ID] = true
				if isNew {
					created++
				}
			})
		}
		wg.Wait()
		if len(ids) != 1 || created != 1 {
			t.Errorf("%d resolvers saw %d contacts, %d created; want 1 and 1", n, len(ids), created)
		}
		all, err := s.ListContacts(ctx, "acme", ContactQuery{Limit: 100})
		if err != nil || len(all) != 1 {
			t.Errorf("contacts stored: %d, %v; want 1", len(all), err)
		}
	})
}

func TestNULRefused(t *testing.T) {
	contract(t, func(t *testing.T, s Store) {
		if _, err := s.CreateContact(ctx, Contact{Tenant: "acme", DisplayName: "a\x00b"}); !errors.Is(err, ErrNULText) {
			t.Errorf("NUL in a name: %v, want ErrNULText", err)
		}
		if _, err := s.GetContact(ctx, "acme", "x\x00"); !errors.Is(err, ErrNULText) {
			t.Errorf("NUL in an id: %v, want ErrNULText", err)
		}
	})
}

func TestNormalizeIdentity(t *testing.T) {
	for _, tc := range []struct {
		in      Identity
		want    string
		wantErr string
	}{
		{Identity{Type: email, Value: "  Li.Na@Example.COM "}, "li.na@example.com", ""},
		{Identity{Type: email, Value: "Li Na <li@example.com>"}, "", `"Li Na <li@example.com>" is not an email address; accepted: an address such as li.na@example.com`},
		{Identity{Type: email, Value: "li@localhost"}, "", `"li@localhost" is not an email address; accepted: an address such as li.na@example.com`},
		{Identity{Type: phone, Value: "+86 138-0000-0000"}, "+8613800000000", ""},
		{Identity{Type: phone, Value: "+1 (415) 555-0100"}, "+14155550100", ""},
		{Identity{Type: phone, Value: "+86 abc"}, "", `"+86 abc" is not a phone number; accepted: E.164, e.g. +8613800000000`},
		{Identity{Type: phone, Value: "13800000000"}, "", `"13800000000" is not a phone number; accepted: E.164, e.g. +8613800000000`},
		{Identity{Type: phone, Value: "+1234567"}, "", `"+1234567" is not a phone number; accepted: E.164, e.g. +8613800000000`},
		{Identity{Type: phone, Value: "+1234567890123456"}, "", `"+1234567890123456" is not a phone number; accepted: E.164, e.g. +8613800000000`},
		{Identity{Type: wechat, Value: " oAbC-123_x "}, "oAbC-123_x", ""},
		{Identity{Type: wechat, Value: "a\tb"}, "", `"a\tb" is not a wechat ID; accepted: 1 to 128 printable characters`},
		{Identity{Type: channelv1.IdentityType_IDENTITY_TYPE_EXTERNAL, Value: strings.Repeat("x", 129)}, "", `"` + strings.Repeat("x", 129) + `" is not a external ID; accepted: 1 to 128 printable characters`},
		{Identity{Type: channelv1.IdentityType_IDENTITY_TYPE_WEB, Value: "   "}, "", `"   " is not a web ID; accepted: 1 to 128 printable characters`},
		{Identity{Value: "x"}, "", "type IDENTITY_TYPE_UNSPECIFIED is not an identity type; accepted: email, phone, wechat, web, external"},
	} {
		got, err := NormalizeIdentity(tc.in)
		if tc.wantErr != "" {
			if err == nil || err.Error() != tc.wantErr {
				t.Errorf("NormalizeIdentity(%q) error = %v, want %q", tc.in.Value, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got.Value != tc.want {
			t.Errorf("NormalizeIdentity(%q) = %q, %v; want %q", tc.in.Value, got.Value, err, tc.want)
		}
	}
}

func TestNormalizeDomain(t *testing.T) {
	for in, want := range map[string]string{
		"Acme.Example": "acme.example", "acme.example.": "acme.example", "xn--fiqs8s.cn": "xn--fiqs8s.cn",
		"localhost": "", "-a.example": "", "a..example": "", "a_b.example": "", "1.2.3.4": "", "": "",
		strings.Repeat("a", 64) + ".example": "",
	} {
		got, err := NormalizeDomain(in)
		if (err == nil) != (want != "") || got != want {
			t.Errorf("NormalizeDomain(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}
