package iam_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	iamv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/iam/v1"
	"github.com/kubedesk/kubedesk/services/platform/auth"
)

func TestSignIn(t *testing.T) {
	e := newEnv(t)
	u := e.createUser(acme, "Ada@Example.com", pw, iamv1.Role_ROLE_AGENT, iamv1.Role_ROLE_SUPERVISOR)

	// The email is compared case-insensitively.
	ctx, h := call(acme, nil, "x-forwarded-for", "203.0.113.7, 10.0.0.1", "grpcgateway-user-agent", "test-browser/1.0")
	resp, err := e.srv.CreateSession(ctx, &iamv1.CreateSessionRequest{Email: "ada@EXAMPLE.com", Password: pw})
	if err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	tok := h.get(auth.SessionTokenKey)
	if len(tok) < 43 {
		t.Fatalf("session token header %q is shorter than 256 bits", tok)
	}
	for _, m := range []proto.Message{resp, resp.GetSession(), resp.GetUser()} {
		b, _ := protojson.Marshal(m)
		if strings.Contains(string(b), tok) {
			t.Fatalf("the response body holds the session token: %s", b)
		}
		if strings.Contains(string(b), pw) {
			t.Fatalf("the response body holds the password: %s", b)
		}
	}
	ses := resp.GetSession()
	if ses.GetCsrfToken() != auth.CSRFToken(tok) {
		t.Errorf("csrf_token %q, want auth.CSRFToken(token)", ses.GetCsrfToken())
	}
	if ses.GetClientIp() != "203.0.113.7" || ses.GetUserAgent() != "test-browser/1.0" {
		t.Errorf("client %q %q, want 203.0.113.7 test-browser/1.0", ses.GetClientIp(), ses.GetUserAgent())
	}
	if want := e.clock.Now().Add(7 * 24 * time.Hour); !ses.GetExpireTime().AsTime().Equal(want) {
		t.Errorf("expire_time %v, want %v", ses.GetExpireTime().AsTime(), want)
	}
	if resp.GetUser().GetId() != u.GetId() || resp.GetUser().GetPassword() != "" {
		t.Errorf("user %v, want %s without a password", resp.GetUser(), u.GetId())
	}

	p, err := e.srv.Authenticator().Authenticate(context.Background(), session(tok))
	if err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	want := &iamv1.Principal{
		Id: u.GetId(), Kind: iamv1.PrincipalKind_PRINCIPAL_KIND_USER, Tenant: acme, UserId: u.GetId(), SessionId: ses.GetId(),
		Roles: []iamv1.Role{iamv1.Role_ROLE_AGENT, iamv1.Role_ROLE_SUPERVISOR}, Email: "ada@example.com",
		DisplayName: "Ada@Example.com", ExpireTime: ses.GetExpireTime(),
	}
	if !proto.Equal(p, want) {
		t.Errorf("principal\n%v\nwant\n%v", p, want)
	}

	// GetMe: the principal, the user and the CSRF token of the cookie's session.
	ctx, _ = call(acme, p, auth.SessionKey, tok)
	me, err := e.srv.GetMe(ctx, &iamv1.GetMeRequest{})
	if err != nil {
		t.Fatalf("GetMe: %v", err)
	}
	if me.GetCsrfToken() != auth.CSRFToken(tok) || me.GetUser().GetId() != u.GetId() || me.GetPrincipal().GetSessionId() != ses.GetId() {
		t.Errorf("GetMe = %v", me)
	}

	ev := e.auditEvents(acme, iamv1.AuditEventType_AUDIT_EVENT_TYPE_SIGN_IN_SUCCEEDED)
	if len(ev) != 1 || ev[0].GetSubject() != u.GetId() || ev[0].GetClientIp() != "203.0.113.7" || ev[0].GetActor().GetId() != u.GetId() {
		t.Errorf("SIGN_IN_SUCCEEDED events %v", ev)
	}
}

func TestSignInFailuresLookAlike(t *testing.T) {
	e := newEnv(t)
	e.createUser(acme, "ada@example.com", pw)
	inactive := e.createUser(acme, "bob@example.com", pw)
	ctx, _ := call(acme, admin(acme))
	if _, err := e.srv.UpdateUser(ctx, &iamv1.UpdateUserRequest{
		User: &iamv1.User{Id: inactive.GetId()}, UpdateMask: mask("active"),
	}); err != nil {
		t.Fatal(err)
	}
	noPassword, err := e.srv.CreateUser(ctx, &iamv1.CreateUserRequest{User: &iamv1.User{Email: "oidc@example.com"}})
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct{ name, tenant, email, password string }{
		{"unknown email", acme, "nobody@example.com", pw},
		{"wrong password", acme, "ada@example.com", pw + "x"},
		{"inactive user, right password", acme, "bob@example.com", pw},
		{"user without a password", acme, noPassword.GetUser().GetEmail(), pw},
		{"right password, other tenant", globex, "ada@example.com", pw},
	}
	var first error
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, h := call(tt.tenant, nil)
			_, err := e.srv.CreateSession(ctx, &iamv1.CreateSessionRequest{Email: tt.email, Password: tt.password})
			if status.Code(err) != codes.Unauthenticated || status.Convert(err).Message() != "email or password is wrong" {
				t.Fatalf("err %v, want UNAUTHENTICATED \"email or password is wrong\"", err)
			}
			if first == nil {
				first = err
			} else if err.Error() != first.Error() {
				t.Errorf("err %q differs from %q", err, first)
			}
			if tok := h.get(auth.SessionTokenKey); tok != "" {
				t.Error("a failed sign-in sent a session token")
			}
		})
	}
	ev := e.auditEvents(acme, iamv1.AuditEventType_AUDIT_EVENT_TYPE_SIGN_IN_FAILED)
	if len(ev) != 4 {
		t.Fatalf("%d SIGN_IN_FAILED events in acme, want 4", len(ev))
	}
	if ev[3].GetSubject() != "nobody@example.com" || ev[3].GetActor() != nil {
		t.Errorf("unknown email event %v, want subject nobody@example.com and no actor", ev[3])
	}
}

func TestSignInThrottle(t *testing.T) {
	e := newEnv(t) // 5 failures within 15 minutes
	e.createUser(acme, "ada@example.com", pw)
	e.createUser(acme, "bob@example.com", pw)

	var codesSeen []codes.Code
	var retryAfter string
	for range 1000 {
		ctx, h := call(acme, nil)
		_, err := e.srv.CreateSession(ctx, &iamv1.CreateSessionRequest{Email: "ada@example.com", Password: "guess-guess-guess"})
		codesSeen = append(codesSeen, status.Code(err))
		if status.Code(err) == codes.ResourceExhausted {
			retryAfter = h.get("retry-after")
		}
		e.clock.Advance(100 * time.Millisecond)
	}
	for i, c := range codesSeen {
		want := codes.Unauthenticated
		if i >= 5 {
			want = codes.ResourceExhausted
		}
		if c != want {
			t.Fatalf("attempt %d: %v, want %v", i+1, c, want)
		}
	}
	// The window began at the first failure, 99.9 s ago.
	if retryAfter != "801" {
		t.Errorf("retry-after %q, want \"801\" (seconds left in the window)", retryAfter)
	}
	// The owner's right password is refused too until the window passes...
	ctx, _ := call(acme, nil)
	if _, err := e.srv.CreateSession(ctx, &iamv1.CreateSessionRequest{Email: "ada@example.com", Password: pw}); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("right password during the window: %v, want RESOURCE_EXHAUSTED", err)
	}
	// ... while another account is not affected.
	e.signIn(e.srv, acme, "bob@example.com", pw)
	e.clock.Advance(15 * time.Minute)
	e.signIn(e.srv, acme, "ada@example.com", pw)

	if n := len(e.auditEvents(acme, iamv1.AuditEventType_AUDIT_EVENT_TYPE_SIGN_IN_THROTTLED)); n != 1 {
		t.Errorf("%d SIGN_IN_THROTTLED events, want 1 (the first refusal of the window)", n)
	}
	if n := len(e.auditEvents(acme, iamv1.AuditEventType_AUDIT_EVENT_TYPE_SIGN_IN_FAILED)); n != 5 {
		t.Errorf("%d SIGN_IN_FAILED events, want 5", n)
	}
}

func TestPasswordRule(t *testing.T) {
	e := newEnv(t)
	u := e.createUser(acme, "ada@example.com", pw)
	_, p := e.signIn(e.srv, acme, "ada@example.com", pw)
	const short = "elevenchars" // 11
	tests := []struct {
		name string
		call func(ctx context.Context) error
		as   *iamv1.Principal
		want string
	}{
		{"create", func(ctx context.Context) error {
			_, err := e.srv.CreateUser(ctx, &iamv1.CreateUserRequest{User: &iamv1.User{Email: "x@example.com", Password: proto.String(short)}})
			return err
		}, admin(acme), "user.password: must be at least 12 characters (got 11)"},
		{"update", func(ctx context.Context) error {
			_, err := e.srv.UpdateUser(ctx, &iamv1.UpdateUserRequest{User: &iamv1.User{Id: u.GetId(), Password: proto.String(short)}, UpdateMask: mask("password")})
			return err
		}, admin(acme), "user.password: must be at least 12 characters (got 11)"},
		{"change", func(ctx context.Context) error {
			_, err := e.srv.ChangePassword(ctx, &iamv1.ChangePasswordRequest{CurrentPassword: pw, NewPassword: short})
			return err
		}, p, "new_password: must be at least 12 characters (got 11)"},
		{"characters, not bytes", func(ctx context.Context) error {
			_, err := e.srv.CreateUser(ctx, &iamv1.CreateUserRequest{User: &iamv1.User{Email: "y@example.com", Password: proto.String("密码密码密码密码")}})
			return err
		}, admin(acme), "user.password: must be at least 12 characters (got 8)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, _ := call(acme, tt.as)
			err := tt.call(ctx)
			if status.Code(err) != codes.InvalidArgument || status.Convert(err).Message() != tt.want {
				t.Fatalf("err %v, want INVALID_ARGUMENT %q", err, tt.want)
			}
		})
	}
}

func TestSessionEnds(t *testing.T) {
	tests := []struct {
		name string
		// act runs after sign-in; the session must then be refused.
		act func(t *testing.T, e *env, u *iamv1.User, tok string)
	}{
		{"idle", func(_ *testing.T, e *env, _ *iamv1.User, _ string) { e.clock.Advance(8 * time.Hour) }},
		{"absolute, though used every hour", func(t *testing.T, e *env, _ *iamv1.User, tok string) {
			for range 7*24 - 8 { // up to an hour before the end

				e.clock.Advance(time.Hour)
				if _, err := e.srv.Authenticator().Authenticate(context.Background(), session(tok)); err != nil {
					t.Fatalf("session refused at %v, before its end: %v", e.clock.Now(), err)
				}
				e.srv.Sweep(context.Background()) // stores last-seen
			}
			e.clock.Advance(time.Hour)
		}},
		{"user deactivated", func(t *testing.T, e *env, u *iamv1.User, _ string) {
			ctx, _ := call(acme, admin(acme))
			if _, err := e.srv.UpdateUser(ctx, &iamv1.UpdateUserRequest{User: &iamv1.User{Id: u.GetId(), Active: false}, UpdateMask: mask("active")}); err != nil {
				t.Fatal(err)
			}
		}},
		{"password set by an admin", func(t *testing.T, e *env, u *iamv1.User, _ string) {
			ctx, _ := call(acme, admin(acme))
			if _, err := e.srv.UpdateUser(ctx, &iamv1.UpdateUserRequest{User: &iamv1.User{Id: u.GetId(), Password: proto.String(pw + "2")}, UpdateMask: mask("password")}); err != nil {
				t.Fatal(err)
			}
		}},
		{"signed out", func(t *testing.T, e *env, _ *iamv1.User, tok string) {
			p, _ := e.srv.Authenticator().Authenticate(context.Background(), session(tok))
			ctx, h := call(acme, p)
			if _, err := e.srv.DeleteSession(ctx, &iamv1.DeleteSessionRequest{Id: "current"}); err != nil {
				t.Fatal(err)
			}
			if h.get(auth.SessionEndedKey) == "" {
				t.Errorf("no %s header after signing out", auth.SessionEndedKey)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			u := e.createUser(acme, "ada@example.com", pw)
			tok, _ := e.signIn(e.srv, acme, "ada@example.com", pw)
			// Nearly idle, then used: the idle clock starts again.
			e.clock.Advance(7 * time.Hour)
			if _, err := e.srv.Authenticator().Authenticate(context.Background(), session(tok)); err != nil {
				t.Fatalf("session refused after 7 idle hours: %v", err)
			}
			tt.act(t, e, u, tok)
			for _, srv := range []string{"this replica", "a fresh replica"} {
				a := e.srv.Authenticator()
				if srv != "this replica" {
					a = e.replica().Authenticator()
				}
				if _, err := a.Authenticate(context.Background(), session(tok)); !errors.Is(err, auth.ErrUnauthenticated) {
					t.Errorf("%s: Authenticate = %v, want ErrUnauthenticated", srv, err)
				}
			}
		})
	}
}

func TestChangePassword(t *testing.T) {
	e := newEnv(t)
	e.createUser(acme, "ada@example.com", pw)
	tokA, pA := e.signIn(e.srv, acme, "ada@example.com", pw)
	tokB, _ := e.signIn(e.srv, acme, "ada@example.com", pw)

	ctx, _ := call(acme, pA)
	_, err := e.srv.ChangePassword(ctx, &iamv1.ChangePasswordRequest{CurrentPassword: "not the password", NewPassword: pw + "2"})
	if status.Code(err) != codes.PermissionDenied || !strings.Contains(err.Error(), "current_password") {
		t.Fatalf("wrong current password: %v, want PERMISSION_DENIED naming current_password", err)
	}
	if _, err := e.srv.ChangePassword(ctx, &iamv1.ChangePasswordRequest{CurrentPassword: pw, NewPassword: pw + "2"}); err != nil {
		t.Fatalf("ChangePassword: %v", err)
	}
	a := e.srv.Authenticator()
	if _, err := a.Authenticate(context.Background(), session(tokA)); err != nil {
		t.Errorf("the session that changed the password ended: %v", err)
	}
	if _, err := a.Authenticate(context.Background(), session(tokB)); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Errorf("another session still works: %v", err)
	}
	ctx, _ = call(acme, nil)
	if _, err := e.srv.CreateSession(ctx, &iamv1.CreateSessionRequest{Email: "ada@example.com", Password: pw}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("old password: %v, want UNAUTHENTICATED", err)
	}
	e.signIn(e.srv, acme, "ada@example.com", pw+"2")
	if n := len(e.auditEvents(acme, iamv1.AuditEventType_AUDIT_EVENT_TYPE_PASSWORD_CHANGED)); n != 1 {
		t.Errorf("%d PASSWORD_CHANGED events, want 1", n)
	}
}

func TestSessionsOfOthers(t *testing.T) {
	e := newEnv(t)
	e.createUser(acme, "ada@example.com", pw)
	bob := e.createUser(acme, "bob@example.com", pw)
	boss := e.createUser(acme, "boss@example.com", pw, iamv1.Role_ROLE_ADMIN)
	_, ada := e.signIn(e.srv, acme, "ada@example.com", pw)
	bobTok, bobP := e.signIn(e.srv, acme, "bob@example.com", pw)
	_, bossP := e.signIn(e.srv, acme, "boss@example.com", pw)

	// Ada sees her own sessions only, and cannot end Bob's.
	ctx, _ := call(acme, ada)
	list, err := e.srv.ListSessions(ctx, &iamv1.ListSessionsRequest{})
	if err != nil || len(list.GetSessions()) != 1 || list.GetSessions()[0].GetId() != ada.GetSessionId() {
		t.Fatalf("ListSessions(own) = %v, %v", list, err)
	}
	if _, err := e.srv.ListSessions(ctx, &iamv1.ListSessionsRequest{User: "users/" + bob.GetId()}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("ListSessions(bob) as agent: %v, want PERMISSION_DENIED", err)
	}
	if _, err := e.srv.DeleteSession(ctx, &iamv1.DeleteSessionRequest{Id: bobP.GetSessionId()}); status.Code(err) != codes.NotFound {
		t.Errorf("DeleteSession(bob's) as agent: %v, want NOT_FOUND", err)
	}
	// An admin does both.
	ctx, h := call(acme, bossP)
	list, err = e.srv.ListSessions(ctx, &iamv1.ListSessionsRequest{User: bob.GetId()})
	if err != nil || len(list.GetSessions()) != 1 || list.GetSessions()[0].GetCsrfToken() != "" {
		t.Fatalf("ListSessions(bob) as admin = %v, %v (and no CSRF token of another's session)", list, err)
	}
	if _, err := e.srv.DeleteSession(ctx, &iamv1.DeleteSessionRequest{Id: bobP.GetSessionId()}); err != nil {
		t.Fatalf("DeleteSession(bob's) as admin: %v", err)
	}
	if h.get(auth.SessionEndedKey) != "" {
		t.Error("revoking another's session told the gateway to clear the admin's cookie")
	}
	if _, err := e.srv.Authenticator().Authenticate(context.Background(), session(bobTok)); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Errorf("Bob's revoked session: %v", err)
	}
	// Across tenants the session does not exist.
	ctx, _ = call(globex, admin(globex))
	if _, err := e.srv.DeleteSession(ctx, &iamv1.DeleteSessionRequest{Id: ada.GetSessionId()}); status.Code(err) != codes.NotFound {
		t.Errorf("DeleteSession(acme's) from globex: %v, want NOT_FOUND", err)
	}
	ev := e.auditEvents(acme, iamv1.AuditEventType_AUDIT_EVENT_TYPE_SESSION_REVOKED)
	if len(ev) != 1 || ev[0].GetSubject() != bobP.GetSessionId() || ev[0].GetActor().GetId() != boss.GetId() {
		t.Errorf("SESSION_REVOKED events %v", ev)
	}
}

// TestSignInThrottleParallel: a burst of parallel guesses gets no more
// tries than guesses one after another.
func TestSignInThrottleParallel(t *testing.T) {
	e := newEnv(t) // 5 failures within 15 minutes
	e.createUser(acme, "ada@example.com", pw)
	results := make(chan codes.Code, 50)
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			ctx, _ := call(acme, nil)
			_, err := e.srv.CreateSession(ctx, &iamv1.CreateSessionRequest{Email: "ada@example.com", Password: "guess-guess-guess"})
			results <- status.Code(err)
		})
	}
	wg.Wait()
	close(results)
	count := map[codes.Code]int{}
	for c := range results {
		count[c]++
	}
	if count[codes.Unauthenticated] != 5 || count[codes.ResourceExhausted] != 45 {
		t.Errorf("answers %v, want 5 UNAUTHENTICATED and 45 RESOURCE_EXHAUSTED", count)
	}
}

// TestSignInBusy: while every password-hash slot is taken, a sign-in
// waits, then answers RESOURCE_EXHAUSTED with retry-after, and does not
// count against the account; once a slot frees, it goes through.
func TestSignInBusy(t *testing.T) {
	e := newEnv(t)
	e.createUser(acme, "ada@example.com", pw, iamv1.Role_ROLE_AGENT)
	release := e.srv.HoldHashSlots(20 * time.Millisecond)
	for range 20 { // more than the throttle's failures: none counts
		ctx, h := call(acme, nil)
		_, err := e.srv.CreateSession(ctx, &iamv1.CreateSessionRequest{Email: "ada@example.com", Password: pw})
		if status.Code(err) != codes.ResourceExhausted || !strings.Contains(err.Error(), "iam.maxConcurrentHashes") {
			t.Fatalf("CreateSession with every slot taken = %v, want RESOURCE_EXHAUSTED naming iam.maxConcurrentHashes", err)
		}
		if h.get(auth.RetryAfterKey) != "1" {
			t.Fatalf("retry-after %q, want 1", h.get(auth.RetryAfterKey))
		}
	}
	if n := len(e.auditEvents(acme, iamv1.AuditEventType_AUDIT_EVENT_TYPE_SIGN_IN_FAILED)); n != 0 {
		t.Errorf("%d failed sign-ins audited while busy, want none", n)
	}
	release()
	ctx, _ := call(acme, nil)
	if _, err := e.srv.CreateSession(ctx, &iamv1.CreateSessionRequest{Email: "ada@example.com", Password: pw}); err != nil {
		t.Fatalf("CreateSession once a slot is free: %v", err)
	}
}
