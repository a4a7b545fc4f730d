package iam_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	iamv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/iam/v1"
	"github.com/kubedesk/kubedesk/services/iam"
	"github.com/kubedesk/kubedesk/services/platform/auth"
)

// createKey makes a key through the RPC and returns it with its secret.
func (e *env) createKey(tid, name string, role iamv1.Role) *iamv1.ApiKey {
	e.t.Helper()
	ctx, _ := call(tid, admin(tid))
	resp, err := e.srv.CreateApiKey(ctx, &iamv1.CreateApiKeyRequest{ApiKey: &iamv1.ApiKey{DisplayName: name, Role: role}})
	if err != nil {
		e.t.Fatalf("CreateApiKey(%s): %v", name, err)
	}
	return resp.GetApiKey()
}

func TestAPIKeys(t *testing.T) {
	e := newEnv(t)
	k := e.createKey(acme, "CRM sync", iamv1.Role_ROLE_UNSPECIFIED)
	secret := k.GetSecret()
	if !strings.HasPrefix(secret, "kd_") || len(secret) < 3+43 {
		t.Fatalf("secret %q: want kd_ and at least 43 characters", secret)
	}
	if k.GetPrefix() != secret[:11] || k.GetRole() != iamv1.Role_ROLE_INTEGRATION || k.GetCreator().GetId() != admin(acme).GetId() {
		t.Errorf("key %v: want prefix %q, ROLE_INTEGRATION, creator %s", k, secret[:11], admin(acme).GetId())
	}

	ctx, _ := call(acme, admin(acme))
	list, err := e.srv.ListApiKeys(ctx, &iamv1.ListApiKeysRequest{})
	if err != nil || len(list.GetApiKeys()) != 1 {
		t.Fatalf("ListApiKeys = %v, %v", list, err)
	}
	if got := list.GetApiKeys()[0]; got.GetSecret() != "" || strings.Contains(got.String(), secret[11:]) {
		t.Errorf("ListApiKeys shows the secret: %v", got)
	}

	local, other := e.srv.Authenticator(), e.replica().Authenticator()
	want := &iamv1.Principal{Id: k.GetId(), Kind: iamv1.PrincipalKind_PRINCIPAL_KIND_API_KEY, Tenant: acme,
		Roles: []iamv1.Role{iamv1.Role_ROLE_INTEGRATION}, DisplayName: "CRM sync"}
	for name, a := range map[string]auth.Authenticator{"local": local, "other replica": other} {
		p, err := a.Authenticate(context.Background(), bearer(secret))
		if err != nil || !proto.Equal(p, want) {
			t.Fatalf("%s: Authenticate = %v, %v; want %v", name, p, err, want)
		}
	}

	if _, err := e.srv.DeleteApiKey(ctx, &iamv1.DeleteApiKeyRequest{Id: k.GetId()}); err != nil {
		t.Fatalf("DeleteApiKey: %v", err)
	}
	// This replica stops at once; the other within CacheTTL (2s).
	if _, err := local.Authenticate(context.Background(), bearer(secret)); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Errorf("local, right after revoking: %v, want ErrUnauthenticated", err)
	}
	if _, err := other.Authenticate(context.Background(), bearer(secret)); err != nil {
		t.Errorf("other replica, within its cache TTL: %v (the cache is expected to answer)", err)
	}
	e.clock.Advance(2 * time.Second)
	if _, err := other.Authenticate(context.Background(), bearer(secret)); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Errorf("other replica, after CacheTTL: %v, want ErrUnauthenticated", err)
	}

	list, _ = e.srv.ListApiKeys(ctx, &iamv1.ListApiKeysRequest{})
	if len(list.GetApiKeys()) != 1 || list.GetApiKeys()[0].GetRevokeTime() == nil {
		t.Errorf("revoked key listed as %v, want it with a revoke_time", list)
	}
	created := e.auditEvents(acme, iamv1.AuditEventType_AUDIT_EVENT_TYPE_API_KEY_CREATED)
	revoked := e.auditEvents(acme, iamv1.AuditEventType_AUDIT_EVENT_TYPE_API_KEY_REVOKED)
	if len(created) != 1 || created[0].GetSubject() != k.GetId() || !strings.Contains(created[0].GetDetail(), "CRM sync") ||
		!strings.Contains(created[0].GetDetail(), "integration") {
		t.Errorf("API_KEY_CREATED events %v", created)
	}
	if len(revoked) != 1 || revoked[0].GetSubject() != k.GetId() {
		t.Errorf("API_KEY_REVOKED events %v", revoked)
	}
}

func TestAPIKeyRefused(t *testing.T) {
	e := newEnv(t)
	ctx, _ := call(acme, admin(acme))
	resp, err := e.srv.CreateApiKey(ctx, &iamv1.CreateApiKeyRequest{ApiKey: &iamv1.ApiKey{
		DisplayName: "short-lived", ExpireTime: timestamppb.New(e.clock.Now().Add(time.Hour)),
	}})
	if err != nil {
		t.Fatal(err)
	}
	expiring := resp.GetApiKey().GetSecret()
	valid := e.createKey(acme, "valid", iamv1.Role_ROLE_AGENT).GetSecret()
	a := e.srv.Authenticator()
	if _, err := a.Authenticate(context.Background(), bearer(expiring)); err != nil {
		t.Fatalf("key before its expiry: %v", err)
	}
	e.clock.Advance(time.Hour)

	tests := []struct {
		name string
		c    auth.Credential
	}{
		{"expired", bearer(expiring)},
		{"unknown", bearer("kd_" + strings.Repeat("A", 43))},
		{"a key one character off", bearer(valid[:len(valid)-1] + string(valid[len(valid)-1]^1))},
		{"a key sent as the session", session(valid)},
		{"a JWT without a verifier", bearer("eyJhbGciOiJSUzI1NiJ9.e30.c2ln")},
		{"empty", bearer("")},
		{"no kind", auth.Credential{Secret: valid}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := a.Authenticate(context.Background(), tt.c)
			if !errors.Is(err, auth.ErrUnauthenticated) || p != nil {
				t.Errorf("Authenticate = %v, %v; want ErrUnauthenticated", p, err)
			}
		})
	}

	past := timestamppb.New(e.clock.Now().Add(-time.Minute))
	bad := []struct {
		name string
		in   *iamv1.ApiKey
		code codes.Code
		want string
	}{
		{"expire in the past", &iamv1.ApiKey{DisplayName: "x", ExpireTime: past}, codes.InvalidArgument, "api_key.expire_time: "},
		{"no name", &iamv1.ApiKey{DisplayName: "  "}, codes.InvalidArgument, "api_key.display_name: is required"},
		{"customer role", &iamv1.ApiKey{DisplayName: "x", Role: iamv1.Role_ROLE_CUSTOMER}, codes.InvalidArgument, "api_key.role: ROLE_CUSTOMER"},
		{"service role", &iamv1.ApiKey{DisplayName: "x", Role: iamv1.Role_ROLE_SERVICE}, codes.InvalidArgument, "api_key.role: ROLE_SERVICE"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.srv.CreateApiKey(ctx, &iamv1.CreateApiKeyRequest{ApiKey: tt.in})
			if status.Code(err) != tt.code || !strings.HasPrefix(status.Convert(err).Message(), tt.want) {
				t.Errorf("err %v, want %v starting %q", err, tt.code, tt.want)
			}
		})
	}
	// A supervisor (were it allowed to call) may not make an admin key.
	sup := &iamv1.Principal{Id: "u1", Kind: iamv1.PrincipalKind_PRINCIPAL_KIND_USER, Tenant: acme, Roles: []iamv1.Role{iamv1.Role_ROLE_SUPERVISOR}}
	sctx, _ := call(acme, sup)
	if _, err := e.srv.CreateApiKey(sctx, &iamv1.CreateApiKeyRequest{ApiKey: &iamv1.ApiKey{DisplayName: "x", Role: iamv1.Role_ROLE_ADMIN}}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("admin key by a supervisor: %v, want PERMISSION_DENIED", err)
	}
}

// TestTenantsApart: a credential of one tenant never reaches another's
// users, keys or sessions.
func TestTenantsApart(t *testing.T) {
	e := newEnv(t)
	ada := e.createUser(acme, "ada@example.com", pw, iamv1.Role_ROLE_ADMIN)
	e.createUser(globex, "ada@example.com", pw+" globex") // same email, other tenant
	acmeKey := e.createKey(acme, "acme admin", iamv1.Role_ROLE_ADMIN)
	globexKey := e.createKey(globex, "globex key", iamv1.Role_ROLE_ADMIN)

	p, err := e.srv.Authenticator().Authenticate(context.Background(), bearer(acmeKey.GetSecret()))
	if err != nil || p.GetTenant() != acme || len(p.GetTenants()) != 0 {
		t.Fatalf("acme key resolves to %v, %v; want tenant acme and no other", p, err)
	}
	// Globex's ada signs in to globex only with globex's password.
	ctx, _ := call(globex, nil)
	if _, err := e.srv.CreateSession(ctx, &iamv1.CreateSessionRequest{Email: "ada@example.com", Password: pw}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("acme password in globex: %v, want UNAUTHENTICATED", err)
	}
	_, gp := e.signIn(e.srv, globex, "ada@example.com", pw+" globex")
	if gp.GetTenant() != globex || gp.GetUserId() == ada.GetId() {
		t.Errorf("globex session principal %v", gp)
	}

	gctx, _ := call(globex, admin(globex))
	checks := []struct {
		name string
		do   func() error
	}{
		{"GetUser", func() error {
			_, err := e.srv.GetUser(gctx, &iamv1.GetUserRequest{Id: ada.GetId()})
			return err
		}},
		{"UpdateUser", func() error {
			_, err := e.srv.UpdateUser(gctx, &iamv1.UpdateUserRequest{User: &iamv1.User{Id: ada.GetId(), DisplayName: "x"}, UpdateMask: mask("display_name")})
			return err
		}},
		{"DeleteApiKey", func() error {
			_, err := e.srv.DeleteApiKey(gctx, &iamv1.DeleteApiKeyRequest{Id: acmeKey.GetId()})
			return err
		}},
		{"ListSessions", func() error {
			_, err := e.srv.ListSessions(gctx, &iamv1.ListSessionsRequest{User: ada.GetId()})
			return err
		}},
	}
	for _, c := range checks {
		if err := c.do(); status.Code(err) != codes.NotFound {
			t.Errorf("%s of acme's from globex: %v, want NOT_FOUND", c.name, err)
		}
	}
	keys, _ := e.srv.ListApiKeys(gctx, &iamv1.ListApiKeysRequest{})
	if len(keys.GetApiKeys()) != 1 || keys.GetApiKeys()[0].GetId() != globexKey.GetId() {
		t.Errorf("globex lists keys %v, want only its own", keys.GetApiKeys())
	}
	users, _ := e.srv.ListUsers(gctx, &iamv1.ListUsersRequest{})
	if len(users.GetUsers()) != 1 || users.GetUsers()[0].GetTenant() != globex {
		t.Errorf("globex lists users %v, want only its own", users.GetUsers())
	}
	for _, ev := range e.auditEvents(globex) {
		if ev.GetTenant() != globex {
			t.Errorf("globex's audit log holds %v", ev)
		}
	}
	// The acme key still works: globex's attempt revoked nothing.
	if _, err := e.srv.Authenticator().Authenticate(context.Background(), bearer(acmeKey.GetSecret())); err != nil {
		t.Errorf("acme key after globex's delete attempt: %v", err)
	}
}

func TestBootstrap(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	path, err := e.srv.Bootstrap(ctx, acme, dir)
	if err != nil || path != filepath.Join(dir, "admin.key") {
		t.Fatalf("Bootstrap = %q, %v", path, err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("admin.key: %v, mode %v; want 0600", err, fi.Mode())
	}
	b, _ := os.ReadFile(path)
	secret := strings.TrimSpace(string(b))
	p, err := e.srv.Authenticator().Authenticate(ctx, bearer(secret))
	if err != nil || p.GetTenant() != acme || !auth.HasRole(p, iamv1.Role_ROLE_ADMIN) || p.GetDisplayName() != "bootstrap admin key" {
		t.Fatalf("bootstrap key resolves to %v, %v", p, err)
	}
	if strings.Contains(e.logs.String(), secret) {
		t.Error("the log holds the bootstrap secret")
	}

	// Once only: the file is left alone, no second key.
	if path, err := e.replica().Bootstrap(ctx, acme, dir); path != "" || err != nil {
		t.Errorf("second Bootstrap = %q, %v; want nothing done", path, err)
	}
	if b2, _ := os.ReadFile(filepath.Join(dir, "admin.key")); string(b2) != string(b) {
		t.Error("the second Bootstrap rewrote admin.key")
	}
	if n, _ := e.st.CountAPIKeys(ctx); n != 1 {
		t.Errorf("%d keys after two bootstraps, want 1", n)
	}

	// A new, empty store (the database was deleted): the stale file is
	// replaced, and that is logged.
	e2 := newEnv(t)
	path, err = e2.srv.Bootstrap(ctx, acme, dir)
	if err != nil || path == "" {
		t.Fatalf("Bootstrap over a stale admin.key = %q, %v", path, err)
	}
	b3, _ := os.ReadFile(path)
	if string(b3) == string(b) {
		t.Error("admin.key was not replaced")
	}
	if !strings.Contains(e2.logs.String(), "replacing") {
		t.Errorf("replacing admin.key was not logged; logs:\n%s", e2.logs.String())
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("data dir holds %d files, want admin.key alone", len(entries))
	}
}

func TestEnsureKey(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	secret := "kd_" + strings.Repeat("x", 20) + strings.Repeat("Y", 23)
	for _, bad := range []string{"", "kd_short", strings.Repeat("z", 50), "KD_" + strings.Repeat("x", 43)} {
		err := e.srv.EnsureKey(ctx, acme, iamv1.Role_ROLE_INTEGRATION, "operator key", bad)
		if err == nil || (bad != "" && strings.Contains(err.Error(), bad)) {
			t.Errorf("EnsureKey(%q) = %v; want an error that does not echo it", bad, err)
		}
	}
	for range 2 {
		if err := e.srv.EnsureKey(ctx, acme, iamv1.Role_ROLE_INTEGRATION, "operator key", secret); err != nil {
			t.Fatalf("EnsureKey: %v", err)
		}
	}
	if n, _ := e.st.CountAPIKeys(ctx); n != 1 {
		t.Errorf("%d keys after EnsureKey twice, want 1", n)
	}
	p, err := e.srv.Authenticator().Authenticate(ctx, bearer(secret))
	if err != nil || p.GetDisplayName() != "operator key" || !auth.HasRole(p, iamv1.Role_ROLE_INTEGRATION) {
		t.Errorf("ensured key resolves to %v, %v", p, err)
	}
	// Bootstrap does nothing once a key exists.
	if path, err := e.srv.Bootstrap(ctx, acme, t.TempDir()); path != "" || err != nil {
		t.Errorf("Bootstrap after EnsureKey = %q, %v", path, err)
	}
}

func TestCreateKeyActsFor(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	secret, k, err := iam.CreateKey(ctx, e.st, acme, iamv1.Role_ROLE_ADMIN, "platform admin", []string{"*"}, e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if k.Digest == "" || strings.Contains(k.Digest, secret[3:]) || k.Prefix != secret[:11] {
		t.Errorf("stored key %+v", k)
	}
	p, err := e.srv.Authenticator().Authenticate(ctx, bearer(secret))
	if err != nil || !auth.MayActFor(p, globex) {
		t.Errorf("platform key %v, %v: want it to act for globex", p, err)
	}
}

func TestJanitor(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	k := e.createKey(acme, "used", iamv1.Role_ROLE_INTEGRATION)
	e.createUser(acme, "ada@example.com", pw)
	tok, _ := e.signIn(e.srv, acme, "ada@example.com", pw)
	e.clock.Advance(time.Hour)
	usedAt := e.clock.Now()
	if _, err := e.srv.Authenticator().Authenticate(ctx, bearer(k.GetSecret())); err != nil {
		t.Fatal(err)
	}
	if _, err := e.srv.Authenticator().Authenticate(ctx, session(tok)); err != nil {
		t.Fatal(err)
	}
	actx, _ := call(acme, admin(acme))
	list, _ := e.srv.ListApiKeys(actx, &iamv1.ListApiKeysRequest{})
	if list.GetApiKeys()[0].GetLastUsedTime() != nil {
		t.Error("last_used_time written before the janitor ran: it is meant to be batched")
	}
	e.srv.Sweep(ctx)
	list, _ = e.srv.ListApiKeys(actx, &iamv1.ListApiKeysRequest{})
	if got := list.GetApiKeys()[0].GetLastUsedTime(); got == nil || !got.AsTime().Equal(usedAt) {
		t.Errorf("last_used_time %v after the janitor, want %v", got, usedAt)
	}
	// The stored last-seen time keeps the session alive on another replica.
	e.clock.Advance(7 * time.Hour)
	if _, err := e.replica().Authenticator().Authenticate(ctx, session(tok)); err != nil {
		t.Errorf("session seen 7 h ago refused by another replica: %v", err)
	}

	// Audit events older than the retention go; ended sessions too.
	before := len(e.auditEvents(acme))
	e.clock.Advance(90 * 24 * time.Hour)
	e.createKey(acme, "recent", iamv1.Role_ROLE_INTEGRATION) // one recent event
	e.srv.SetBatch(2)
	e.srv.Sweep(ctx)
	if got := e.auditEvents(acme); len(got) != 1 || before < 3 {
		t.Errorf("%d audit events after the sweep (of %d+1), want the recent one", len(got), before)
	}
	if _, err := e.st.LookupSession(ctx, digestOf(tok)); !errors.Is(err, iam.ErrNotFound) {
		t.Errorf("ended session still stored: %v", err)
	}

	// RunJanitor stops with its context and writes what is pending.
	e.srv.SetJanitorEvery(time.Millisecond)
	if _, err := e.srv.Authenticator().Authenticate(ctx, bearer(k.GetSecret())); err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- e.srv.RunJanitor(rctx) }()
	time.Sleep(20 * time.Millisecond)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("RunJanitor = %v, want context.Canceled", err)
	}
	stored, _ := e.st.LookupAPIKey(ctx, digestOf(k.GetSecret()))
	if !stored.LastUsedTime.Equal(e.clock.Now()) {
		t.Errorf("last used %v, want %v", stored.LastUsedTime, e.clock.Now())
	}
}
