package iam_test

import (
	"fmt"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	iamv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/iam/v1"
)

func TestCreateUser(t *testing.T) {
	e := newEnv(t)
	ctx, _ := call(acme, admin(acme))
	resp, err := e.srv.CreateUser(ctx, &iamv1.CreateUserRequest{User: &iamv1.User{
		Email: " Ada@Example.COM ", DisplayName: "Ada", Password: proto.String(pw), TimeZone: "Asia/Shanghai", Locale: "zh-CN",
	}})
	if err != nil {
		t.Fatal(err)
	}
	u := resp.GetUser()
	if u.GetEmail() != "ada@example.com" || !u.GetActive() || len(u.GetRoles()) != 1 || u.GetRoles()[0] != iamv1.Role_ROLE_AGENT ||
		u.GetEtag() != "v1" || u.GetTenant() != acme || u.GetPassword() != "" {
		t.Errorf("created %v: want lower-cased email, active, [ROLE_AGENT], v1, no password", u)
	}
	stored, err := e.st.GetUser(ctx, acme, u.GetId())
	if err != nil || !strings.HasPrefix(stored.PasswordHash, "$argon2id$") {
		t.Errorf("stored hash %q, %v", stored.PasswordHash, err)
	}

	tests := []struct {
		name string
		in   *iamv1.User
		code codes.Code
		msg  string
	}{
		{"email taken, other case", &iamv1.User{Email: "ADA@example.com"}, codes.AlreadyExists, `user.email: "ada@example.com" belongs to another user of this tenant`},
		{"no email", &iamv1.User{DisplayName: "x"}, codes.InvalidArgument, "user.email: is required"},
		{"bad zone", &iamv1.User{Email: "b@example.com", TimeZone: "Mars/Olympus"}, codes.InvalidArgument, `user.time_zone: "Mars/Olympus" is not an IANA time zone`},
		{"customer role", &iamv1.User{Email: "b@example.com", Roles: []iamv1.Role{iamv1.Role_ROLE_CUSTOMER}}, codes.InvalidArgument, "user.roles: ROLE_CUSTOMER is not a user's role"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.srv.CreateUser(ctx, &iamv1.CreateUserRequest{User: tt.in})
			if status.Code(err) != tt.code || !strings.HasPrefix(status.Convert(err).Message(), tt.msg) {
				t.Errorf("err %v, want %v starting %q", err, tt.code, tt.msg)
			}
		})
	}
	ev := e.auditEvents(acme, iamv1.AuditEventType_AUDIT_EVENT_TYPE_USER_CREATED)
	if len(ev) != 1 || ev[0].GetSubject() != u.GetId() {
		t.Errorf("USER_CREATED events %v", ev)
	}
}

func TestUpdateUser(t *testing.T) {
	e := newEnv(t)
	u := e.createUser(acme, "ada@example.com", pw)
	e.createUser(acme, "bob@example.com", pw)
	ctx, _ := call(acme, admin(acme))

	resp, err := e.srv.UpdateUser(ctx, &iamv1.UpdateUserRequest{
		User:       &iamv1.User{Id: u.GetId(), Etag: u.GetEtag(), Roles: []iamv1.Role{iamv1.Role_ROLE_AGENT, iamv1.Role_ROLE_SUPERVISOR}, Groups: []string{"billing"}, DisplayName: "ignored"},
		UpdateMask: mask("roles", "groups"),
	})
	if err != nil {
		t.Fatal(err)
	}
	got := resp.GetUser()
	if got.GetEtag() != "v2" || got.GetDisplayName() != "ada@example.com" || len(got.GetGroups()) != 1 || len(got.GetRoles()) != 2 {
		t.Errorf("updated %v: want v2, roles and groups changed, display name untouched", got)
	}
	ev := e.auditEvents(acme, iamv1.AuditEventType_AUDIT_EVENT_TYPE_USER_ROLES_CHANGED)
	if len(ev) != 1 || ev[0].GetDetail() != "agent -> agent, supervisor" || ev[0].GetSubject() != u.GetId() {
		t.Errorf("USER_ROLES_CHANGED events %v, want detail \"agent -> agent, supervisor\"", ev)
	}

	// If-Match with the old etag: ABORTED. Without one: applied.
	for _, tt := range []struct {
		name string
		md   []string
		etag string
		code codes.Code
	}{
		{"stale etag in body", nil, "v1", codes.Aborted},
		{"stale If-Match", []string{"if-match", `"v1"`}, "", codes.Aborted},
		{"current If-Match", []string{"if-match", "v2"}, "", codes.OK},
		{"If-Match *", []string{"if-match", "*"}, "", codes.OK},
		{"not an etag", nil, "abc", codes.InvalidArgument},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, _ := call(acme, admin(acme), tt.md...)
			_, err := e.srv.UpdateUser(ctx, &iamv1.UpdateUserRequest{User: &iamv1.User{Id: u.GetId(), Etag: tt.etag, Locale: "en"}, UpdateMask: mask("locale")})
			if status.Code(err) != tt.code || (err != nil && !strings.HasPrefix(status.Convert(err).Message(), "etag: ")) {
				t.Errorf("err %v, want %v naming etag", err, tt.code)
			}
		})
	}

	bad := []struct {
		name string
		req  *iamv1.UpdateUserRequest
		code codes.Code
		msg  string
	}{
		{"email taken", &iamv1.UpdateUserRequest{User: &iamv1.User{Id: u.GetId(), Email: "Bob@example.com"}, UpdateMask: mask("email")}, codes.AlreadyExists, "user.email: "},
		{"unknown path", &iamv1.UpdateUserRequest{User: &iamv1.User{Id: u.GetId()}, UpdateMask: mask("tenant")}, codes.InvalidArgument, `update_mask: "tenant" cannot be updated`},
		{"no roles", &iamv1.UpdateUserRequest{User: &iamv1.User{Id: u.GetId()}, UpdateMask: mask("roles")}, codes.InvalidArgument, "user.roles: is empty"},
		{"bad zone", &iamv1.UpdateUserRequest{User: &iamv1.User{Id: u.GetId(), TimeZone: "Local"}, UpdateMask: mask("time_zone")}, codes.InvalidArgument, "user.time_zone: "},
		{"no id", &iamv1.UpdateUserRequest{User: &iamv1.User{}, UpdateMask: mask("locale")}, codes.InvalidArgument, "user.id: is required"},
		{"unknown user", &iamv1.UpdateUserRequest{User: &iamv1.User{Id: "nope"}, UpdateMask: mask("locale")}, codes.NotFound, `user "nope" not found`},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.srv.UpdateUser(ctx, tt.req)
			if status.Code(err) != tt.code || !strings.HasPrefix(status.Convert(err).Message(), tt.msg) {
				t.Errorf("err %v, want %v starting %q", err, tt.code, tt.msg)
			}
		})
	}

	// An admin cannot lock itself out.
	boss := e.createUser(acme, "boss@example.com", pw, iamv1.Role_ROLE_ADMIN)
	_, bossP := e.signIn(e.srv, acme, "boss@example.com", pw)
	bctx, _ := call(acme, bossP)
	if _, err := e.srv.UpdateUser(bctx, &iamv1.UpdateUserRequest{User: &iamv1.User{Id: boss.GetId()}, UpdateMask: mask("active")}); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("admin deactivating itself: %v, want FAILED_PRECONDITION", err)
	}

	// Deactivation is audited.
	if _, err := e.srv.UpdateUser(ctx, &iamv1.UpdateUserRequest{User: &iamv1.User{Id: u.GetId()}, UpdateMask: mask("active")}); err != nil {
		t.Fatal(err)
	}
	if ev := e.auditEvents(acme, iamv1.AuditEventType_AUDIT_EVENT_TYPE_USER_DEACTIVATED); len(ev) != 1 || ev[0].GetSubject() != u.GetId() {
		t.Errorf("USER_DEACTIVATED events %v", ev)
	}
}

func TestListUsersPages(t *testing.T) {
	e := newEnv(t)
	for i := range 12 {
		e.createUser(acme, fmt.Sprintf("user%02d@example.com", i), "")
	}
	e.createUser(globex, "other@example.com", "")
	var emails []string
	token := ""
	for pages := 0; ; pages++ {
		ctx, _ := call(acme, admin(acme))
		resp, err := e.srv.ListUsers(ctx, &iamv1.ListUsersRequest{PageSize: 5, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range resp.GetUsers() {
			emails = append(emails, u.GetEmail())
		}
		if token = resp.GetNextPageToken(); token == "" {
			if pages != 2 {
				t.Errorf("%d pages, want 3", pages+1)
			}
			break
		}
	}
	if len(emails) != 12 || emails[0] != "user00@example.com" || emails[11] != "user11@example.com" {
		t.Errorf("listed %v", emails)
	}
	ctx, _ := call(acme, admin(acme))
	if _, err := e.srv.ListUsers(ctx, &iamv1.ListUsersRequest{PageToken: "garbage"}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("bad page token: %v", err)
	}
}
