package iam_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	iamv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/iam/v1"
	"github.com/kubedesk/kubedesk/services/iam"
)

func TestAuditPages(t *testing.T) {
	e := newEnv(t)
	for i := range 9 {
		e.srv.Audit(context.Background(), &iamv1.AuditEvent{Tenant: acme, Type: iamv1.AuditEventType_AUDIT_EVENT_TYPE_CROSS_TENANT_DENIED, Subject: fmt.Sprint(i)})
		e.srv.Audit(context.Background(), &iamv1.AuditEvent{Tenant: acme, Type: iamv1.AuditEventType_AUDIT_EVENT_TYPE_SIGN_IN_FAILED, Subject: fmt.Sprint(i)})
	}
	e.srv.Audit(context.Background(), &iamv1.AuditEvent{Tenant: globex, Type: iamv1.AuditEventType_AUDIT_EVENT_TYPE_SIGN_IN_FAILED})

	all := e.auditEvents(acme)
	denied := e.auditEvents(acme, iamv1.AuditEventType_AUDIT_EVENT_TYPE_CROSS_TENANT_DENIED)
	if len(all) != 18 || len(denied) != 9 {
		t.Fatalf("%d events, %d denied; want 18 and 9", len(all), len(denied))
	}
	for i, ev := range denied { // newest first
		if ev.GetSubject() != fmt.Sprint(8-i) || ev.GetType() != iamv1.AuditEventType_AUDIT_EVENT_TYPE_CROSS_TENANT_DENIED {
			t.Errorf("event %d: %v", i, ev)
		}
	}
	// A token is good only for the types it was made with.
	ctx, _ := call(acme, admin(acme))
	first, err := e.srv.ListAuditEvents(ctx, &iamv1.ListAuditEventsRequest{PageSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.srv.ListAuditEvents(ctx, &iamv1.ListAuditEventsRequest{PageToken: first.GetNextPageToken(), Types: []iamv1.AuditEventType{iamv1.AuditEventType_AUDIT_EVENT_TYPE_SIGN_IN_FAILED}})
	if status.Code(err) != codes.InvalidArgument || !strings.HasPrefix(status.Convert(err).Message(), "page_token: ") {
		t.Errorf("token of another query: %v", err)
	}
}

// TestNoSecretLeaks runs every flow that handles a secret and then looks
// for the secrets in every audit event, every error and every log line.
func TestNoSecretLeaks(t *testing.T) {
	e := newEnv(t)
	var secrets, errs []string
	keep := func(err error) {
		if err != nil {
			errs = append(errs, err.Error())
		}
	}
	const (
		password  = "Pa55word-of-ada-2026"
		password2 = "second-secret-pa55word"
		short     = "tooShort123"
	)
	secrets = append(secrets, password, password2, short)

	u := e.createUser(acme, "ada@example.com", password, iamv1.Role_ROLE_ADMIN)
	ctx, _ := call(acme, admin(acme))
	_, err := e.srv.CreateUser(ctx, &iamv1.CreateUserRequest{User: &iamv1.User{Email: "x@example.com", Password: proto.String(short)}})
	keep(err)
	for _, p := range []string{password + "x", short, password2} {
		actx, _ := call(acme, nil)
		_, err := e.srv.CreateSession(actx, &iamv1.CreateSessionRequest{Email: "ada@example.com", Password: p})
		keep(err)
	}
	tok, p := e.signIn(e.srv, acme, "ada@example.com", password)
	secrets = append(secrets, tok)
	pctx, _ := call(acme, p)
	_, err = e.srv.ChangePassword(pctx, &iamv1.ChangePasswordRequest{CurrentPassword: password2, NewPassword: password2})
	keep(err)
	_, err = e.srv.ChangePassword(pctx, &iamv1.ChangePasswordRequest{CurrentPassword: password, NewPassword: short})
	keep(err)
	_, err = e.srv.ChangePassword(pctx, &iamv1.ChangePasswordRequest{CurrentPassword: password, NewPassword: password2})
	keep(err)
	_, err = e.srv.UpdateUser(ctx, &iamv1.UpdateUserRequest{User: &iamv1.User{Id: u.GetId(), Password: proto.String(password + "!")}, UpdateMask: mask("password")})
	keep(err)
	secrets = append(secrets, password+"!")

	k := e.createKey(acme, "leak check", iamv1.Role_ROLE_INTEGRATION)
	secrets = append(secrets, k.GetSecret())
	_, err = e.srv.DeleteApiKey(ctx, &iamv1.DeleteApiKeyRequest{Id: k.GetId()})
	keep(err)
	_, err = e.srv.Authenticator().Authenticate(context.Background(), bearer(k.GetSecret()))
	keep(err)
	_, err = e.srv.Authenticator().Authenticate(context.Background(), session(tok))
	keep(err)
	bad := "kd_" + strings.Repeat("q", 10)
	keep(e.srv.EnsureKey(context.Background(), acme, iamv1.Role_ROLE_INTEGRATION, "bad", bad))
	secrets = append(secrets, bad)
	path, err := e.srv.Bootstrap(context.Background(), globex, t.TempDir())
	keep(err)
	if path != "" {
		t.Error("Bootstrap ran with keys in the store")
	}
	if len(errs) < 8 {
		t.Fatalf("only %d errors collected; the flows did not run as meant: %q", len(errs), errs)
	}

	var events []string
	for _, tid := range []string{acme, globex} {
		for _, ev := range e.auditEvents(tid) {
			b, _ := protojson.Marshal(ev)
			events = append(events, string(b))
		}
	}
	if len(events) < 9 {
		t.Fatalf("only %d audit events", len(events))
	}
	hashes := regexp.MustCompile(`\$argon2id\$`)
	haystacks := map[string][]string{"audit event": events, "error": errs, "log": {e.logs.String()}}
	for kind, hs := range haystacks {
		for _, h := range hs {
			for _, s := range secrets {
				if strings.Contains(h, s) {
					t.Errorf("%s holds the secret %q: %s", kind, s, h)
				}
			}
			if hashes.MatchString(h) {
				t.Errorf("%s holds a password hash: %s", kind, h)
			}
		}
	}
	_ = iam.ErrNotFound
}
