package iam_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	iamv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/iam/v1"
	"github.com/kubedesk/kubedesk/services/iam"
	"github.com/kubedesk/kubedesk/services/platform/auth"
)

// channelModule is the channel service's principal: the caller of the
// internal AuthService.
func channelModule(tid string) *iamv1.Principal {
	return &iamv1.Principal{Id: "service:channel", Kind: iamv1.PrincipalKind_PRINCIPAL_KIND_SERVICE, Tenant: tid,
		Tenants: []string{"*"}, Roles: []iamv1.Role{iamv1.Role_ROLE_SERVICE}, DisplayName: "channel"}
}

// issueCode has srv make a sign-in code, as the channel service does.
func (e *env) issueCode(srv *iam.Server, tid, contact, email string) *iamv1.IssueSignInCodeResponse {
	e.t.Helper()
	ctx, _ := call(tid, channelModule(tid))
	resp, err := srv.Auth().IssueSignInCode(ctx, &iamv1.IssueSignInCodeRequest{
		ContactId: contact, Email: email, DisplayName: "王芳", Locale: "zh-CN",
	})
	if err != nil {
		e.t.Fatalf("IssueSignInCode(%s): %v", email, err)
	}
	return resp
}

// codeSignIn signs in with a code and returns the response, the session
// token and the error.
func (e *env) codeSignIn(tid string, req *iamv1.CreateSessionRequest, kv ...string) (*iamv1.CreateSessionResponse, string, error) {
	kv = append([]string{"x-forwarded-for", "198.51.100.4", "grpcgateway-user-agent", "portal/1.0"}, kv...)
	ctx, h := call(tid, nil, kv...)
	resp, err := e.srv.CreateSession(ctx, req)
	return resp, h.get(auth.SessionTokenKey), err
}

func TestCustomerSignIn(t *testing.T) {
	e := newEnv(t)
	issued := e.issueCode(e.srv, acme, "c-wang", "Wang@Example.com")
	code := issued.GetCode()
	if len(code) != iam.SignInCodeDigits || strings.Trim(code, "0123456789") != "" {
		t.Fatalf("code %q, want %d digits", code, iam.SignInCodeDigits)
	}
	if want := e.clock.Now().Add(10 * time.Minute); !issued.GetExpireTime().AsTime().Equal(want) {
		t.Errorf("expire_time %v, want %v (10 minutes)", issued.GetExpireTime().AsTime(), want)
	}

	resp, tok, err := e.codeSignIn(acme, &iamv1.CreateSessionRequest{Email: "wang@EXAMPLE.com", Code: code})
	if err != nil {
		t.Fatalf("CreateSession with the code: %v", err)
	}
	ses := resp.GetSession()
	if resp.GetUser() != nil || ses.GetContactId() != "c-wang" || ses.GetUserId() != "" || ses.GetCsrfToken() != auth.CSRFToken(tok) {
		t.Errorf("response %v; want a session of contact c-wang, no user, the CSRF token of the cookie", resp)
	}
	if ses.GetClientIp() != "198.51.100.4" || ses.GetUserAgent() != "portal/1.0" {
		t.Errorf("client %q %q", ses.GetClientIp(), ses.GetUserAgent())
	}
	p, err := e.srv.Authenticator().Authenticate(context.Background(), session(tok))
	if err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	want := &iamv1.Principal{
		Id: "c-wang", Kind: iamv1.PrincipalKind_PRINCIPAL_KIND_CUSTOMER, Tenant: acme, Roles: []iamv1.Role{iamv1.Role_ROLE_CUSTOMER},
		DisplayName: "王芳", Email: "wang@example.com", ContactId: "c-wang", SessionId: ses.GetId(),
		ExpireTime: ses.GetExpireTime(), Locale: "zh-CN",
	}
	if !proto.Equal(p, want) {
		t.Errorf("principal\n%v\nwant\n%v", p, want)
	}

	// GetMe: the principal and the CSRF token; no user.
	ctx, _ := call(acme, p, auth.SessionKey, tok)
	me, err := e.srv.GetMe(ctx, &iamv1.GetMeRequest{})
	if err != nil || me.GetUser() != nil || !proto.Equal(me.GetPrincipal(), want) || me.GetCsrfToken() != auth.CSRFToken(tok) {
		t.Errorf("GetMe = %v, %v", me, err)
	}

	// Once only.
	if _, _, err := e.codeSignIn(acme, &iamv1.CreateSessionRequest{Email: "wang@example.com", Code: code}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("second use of the code: %v; want Unauthenticated", err)
	}

	// Signing out ends it.
	if _, err := e.srv.DeleteSession(ctx, &iamv1.DeleteSessionRequest{Id: "current"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.srv.Authenticator().Authenticate(context.Background(), session(tok)); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Errorf("the signed-out customer session: %v", err)
	}

	// The audit log: the code issued, the sign-in, the refused second use.
	issuedEv := e.auditEvents(acme, iamv1.AuditEventType_AUDIT_EVENT_TYPE_SIGN_IN_CODE_ISSUED)
	if len(issuedEv) != 1 || issuedEv[0].GetSubject() != "wang@example.com" || issuedEv[0].GetActor().GetId() != "service:channel" {
		t.Errorf("SIGN_IN_CODE_ISSUED events %v", issuedEv)
	}
	ok := e.auditEvents(acme, iamv1.AuditEventType_AUDIT_EVENT_TYPE_SIGN_IN_SUCCEEDED)
	if len(ok) != 1 || ok[0].GetActor().GetId() != "c-wang" || ok[0].GetActor().GetKind() != iamv1.PrincipalKind_PRINCIPAL_KIND_CUSTOMER {
		t.Errorf("SIGN_IN_SUCCEEDED events %v", ok)
	}
	failed := e.auditEvents(acme, iamv1.AuditEventType_AUDIT_EVENT_TYPE_SIGN_IN_FAILED)
	if len(failed) != 1 || failed[0].GetSubject() != "wang@example.com" {
		t.Errorf("SIGN_IN_FAILED events %v", failed)
	}
	haystack := []string{e.logs.String()}
	for _, ev := range e.auditEvents(acme) {
		b, _ := protojson.Marshal(ev)
		haystack = append(haystack, string(b))
	}
	for _, h := range haystack {
		if strings.Contains(h, code) || strings.Contains(h, tok) {
			t.Errorf("the code %s or the session token leaks: %s", code, h)
		}
	}
}

// TestSignInCodeFailuresLookAlike: an unknown address, a wrong, expired,
// spent or used code get one answer, naming the field and nothing about
// the address.
func TestSignInCodeFailuresLookAlike(t *testing.T) {
	e := newEnv(t)
	wrongOf := func(code string) string {
		if code == "000000" {
			return "000001"
		}
		return "000000"
	}
	used := e.issueCode(e.srv, acme, "c-used", "used@example.com").GetCode()
	if _, _, err := e.codeSignIn(acme, &iamv1.CreateSessionRequest{Email: "used@example.com", Code: used}); err != nil {
		t.Fatal(err)
	}
	spent := e.issueCode(e.srv, acme, "c-spent", "spent@example.com").GetCode()
	for range iam.SignInCodeAttempts {
		_, _, _ = e.codeSignIn(acme, &iamv1.CreateSessionRequest{Email: "spent@example.com", Code: wrongOf(spent)})
	}
	wrong := e.issueCode(e.srv, acme, "c-wrong", "wrong@example.com").GetCode()
	expired := e.issueCode(e.srv, acme, "c-late", "late@example.com").GetCode()
	other := e.issueCode(e.srv, globex, "c-globex", "globex@example.com").GetCode()
	e.clock.Advance(5 * time.Minute)
	late := e.issueCode(e.srv, acme, "c-fresh", "fresh@example.com").GetCode()
	e.clock.Advance(5 * time.Minute) // expired's 10 minutes are over; fresh has 5 left

	cases := []struct {
		name, tenant, email, code string
	}{
		{"unknown address", acme, "nobody@example.com", "123456"},
		{"wrong code", acme, "wrong@example.com", wrongOf(wrong)},
		{"expired code", acme, "late@example.com", expired},
		{"spent code, right at last", acme, "spent@example.com", spent},
		{"used code", acme, "used@example.com", used},
		{"another tenant's code", acme, "globex@example.com", other},
	}
	var first string
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, tok, err := e.codeSignIn(c.tenant, &iamv1.CreateSessionRequest{Email: c.email, Code: c.code})
			st := status.Convert(err)
			if st.Code() != codes.Unauthenticated || !strings.HasPrefix(st.Message(), "code: ") || tok != "" {
				t.Fatalf("CreateSession = %v (token %q); want Unauthenticated naming the code, no session", err, tok)
			}
			if first == "" {
				first = st.Message()
			}
			if st.Message() != first || strings.Contains(st.Message(), c.email) {
				t.Errorf("message %q differs from the unknown address's %q, or names the address", st.Message(), first)
			}
		})
	}
	if _, _, err := e.codeSignIn(acme, &iamv1.CreateSessionRequest{Email: "fresh@example.com", Code: late}); err != nil {
		t.Errorf("a code within its 10 minutes: %v", err)
	}
	// The wrong tries spent attempts of the wrong address's code, not its
	// right code.
	if _, _, err := e.codeSignIn(acme, &iamv1.CreateSessionRequest{Email: "wrong@example.com", Code: wrong}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("a code past its life: %v; want Unauthenticated", err)
	}
}

func TestSignInCodeBadInput(t *testing.T) {
	e := newEnv(t)
	code := e.issueCode(e.srv, acme, "c-wang", "wang@example.com").GetCode()
	tests := []struct {
		name string
		req  *iamv1.CreateSessionRequest
		kv   []string
		want string
	}{
		{"short code", &iamv1.CreateSessionRequest{Email: "wang@example.com", Code: "12345"}, nil,
			"code: must be the 6 digits of the sign-in code mailed to the address (got 5 characters)"},
		{"letters", &iamv1.CreateSessionRequest{Email: "wang@example.com", Code: "12345a"}, nil,
			"code: must be the 6 digits of the sign-in code mailed to the address (got 6 characters)"},
		{"password and code", &iamv1.CreateSessionRequest{Email: "wang@example.com", Code: code, Password: pw}, nil,
			"code: a password is sent too; accepted: password (a user) or code (a customer), not both"},
		{"neither", &iamv1.CreateSessionRequest{Email: "wang@example.com"}, nil,
			"password: is required (or code, for a customer's one-time sign-in code)"},
		{"tenant differs from the header", &iamv1.CreateSessionRequest{Email: "wang@example.com", Code: code, Tenant: globex},
			[]string{"x-kubedesk-tenant", acme},
			`tenant: "globex" differs from the X-Kubedesk-Tenant header "acme"; accepted: one of them, or both the same`},
		{"bad tenant", &iamv1.CreateSessionRequest{Email: "wang@example.com", Code: code, Tenant: "Not A Tenant"}, nil,
			`tenant: "Not A Tenant": `},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := e.codeSignIn(acme, tt.req, tt.kv...)
			st := status.Convert(err)
			if st.Code() != codes.InvalidArgument || !strings.HasPrefix(st.Message(), tt.want) {
				t.Errorf("CreateSession = %v\nwant InvalidArgument: %s", err, tt.want)
			}
		})
	}
	// None of those spent an attempt: the code still works, and the
	// tenant field names the tenant when no header does.
	resp, _, err := e.codeSignIn(globex, &iamv1.CreateSessionRequest{Email: "wang@example.com", Code: code, Tenant: acme})
	if err != nil || resp.GetSession().GetContactId() != "c-wang" {
		t.Errorf("CreateSession with tenant acme in the body = %v, %v", resp, err)
	}

	// The internal RPCs name their fields.
	ctx, _ := call(acme, channelModule(acme))
	for _, c := range []struct {
		err  error
		want string
	}{
		{second(e.srv.Auth().IssueSignInCode(ctx, &iamv1.IssueSignInCodeRequest{Email: "a@example.com"})), "contact_id: is required"},
		{second(e.srv.Auth().IssueSignInCode(ctx, &iamv1.IssueSignInCodeRequest{ContactId: "c"})), "email: is required"},
		{second(e.srv.Auth().ReassignContact(ctx, &iamv1.ReassignContactRequest{ContactId: "c", IntoContactId: "c"})),
			`into_contact_id: "c" is contact_id; accepted: the contact it was merged into`},
	} {
		if st := status.Convert(c.err); st.Code() != codes.InvalidArgument || st.Message() != c.want {
			t.Errorf("got %v, want InvalidArgument: %s", c.err, c.want)
		}
	}
}

func second[T any](_ T, err error) error { return err }

// TestCustomerSessions: a customer lists and ends its own sessions, not
// another's.
func TestCustomerSessions(t *testing.T) {
	e := newEnv(t)
	signIn := func(contact, email string) (string, *iamv1.Principal) {
		t.Helper()
		code := e.issueCode(e.srv, acme, contact, email).GetCode()
		_, tok, err := e.codeSignIn(acme, &iamv1.CreateSessionRequest{Email: email, Code: code})
		if err != nil {
			t.Fatal(err)
		}
		p, err := e.srv.Authenticator().Authenticate(context.Background(), session(tok))
		if err != nil {
			t.Fatal(err)
		}
		return tok, p
	}
	tok1, wang1 := signIn("c-wang", "wang@example.com")
	_, wang2 := signIn("c-wang", "wang@example.com")
	_, li := signIn("c-li", "li@example.com")
	e.createUser(acme, "ada@example.com", pw)
	_, ada := e.signIn(e.srv, acme, "ada@example.com", pw)

	ctx, _ := call(acme, wang1, auth.SessionKey, tok1)
	list, err := e.srv.ListSessions(ctx, &iamv1.ListSessionsRequest{PageSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for {
		for _, s := range list.GetSessions() {
			ids = append(ids, s.GetId())
			if s.GetContactId() != "c-wang" || (s.GetId() == wang1.GetSessionId()) != (s.GetCsrfToken() != "") {
				t.Errorf("session %v", s)
			}
		}
		if list.GetNextPageToken() == "" {
			break
		}
		if list, err = e.srv.ListSessions(ctx, &iamv1.ListSessionsRequest{PageSize: 1, PageToken: list.GetNextPageToken()}); err != nil {
			t.Fatal(err)
		}
	}
	if want := []string{wang2.GetSessionId(), wang1.GetSessionId()}; !equal(ids, want) {
		t.Errorf("Wang's sessions %v, want %v", ids, want)
	}
	for _, other := range []*iamv1.Principal{li, ada} {
		if _, err := e.srv.DeleteSession(ctx, &iamv1.DeleteSessionRequest{Id: other.GetSessionId()}); status.Code(err) != codes.NotFound {
			t.Errorf("a customer ends session %s of another: %v; want NotFound", other.GetSessionId(), err)
		}
	}
	if _, err := e.srv.DeleteSession(ctx, &iamv1.DeleteSessionRequest{Id: wang2.GetSessionId()}); err != nil {
		t.Errorf("a customer ends its other session: %v", err)
	}
	// A user cannot end a customer's session either (the user ID "" of
	// customers' sessions is nobody's).
	actx, _ := call(acme, ada)
	if _, err := e.srv.DeleteSession(actx, &iamv1.DeleteSessionRequest{Id: li.GetSessionId()}); status.Code(err) != codes.NotFound {
		t.Errorf("an agent ends a customer's session: %v; want NotFound", err)
	}
}

func equal(a, b []string) bool { return strings.Join(a, ",") == strings.Join(b, ",") }

// TestReassignContact: after a merge, a signed-in customer of the merged
// contact, and one signing in with a code issued before it, act as the
// contact it was merged into.
func TestReassignContact(t *testing.T) {
	e := newEnv(t)
	code := e.issueCode(e.srv, acme, "c-old", "wang@example.com").GetCode()
	_, tok, err := e.codeSignIn(acme, &iamv1.CreateSessionRequest{Email: "wang@example.com", Code: code})
	if err != nil {
		t.Fatal(err)
	}
	pending := e.issueCode(e.srv, acme, "c-old", "fang@example.com").GetCode()
	replica := e.replica()
	before, err := replica.Authenticator().Authenticate(context.Background(), session(tok))
	if err != nil || before.GetContactId() != "c-old" {
		t.Fatalf("before the merge: %v, %v", before, err)
	}

	ctx, _ := call(acme, channelModule(acme))
	resp, err := e.srv.Auth().ReassignContact(ctx, &iamv1.ReassignContactRequest{ContactId: "c-old", IntoContactId: "c-new"})
	if err != nil || resp.GetSessionsMoved() != 1 {
		t.Fatalf("ReassignContact = %v, %v; want 1 session moved", resp, err)
	}
	p, err := e.srv.Authenticator().Authenticate(context.Background(), session(tok))
	if err != nil || p.GetContactId() != "c-new" || p.GetId() != "c-new" {
		t.Errorf("the merged contact's session on the replica that moved it: %v, %v; want contact c-new at once", p, err)
	}
	// Another replica trusts what it checked for CacheTTL, no longer.
	e.clock.Advance(time.Duration(e.cfg.CacheTTL) + time.Millisecond)
	if p, err := replica.Authenticator().Authenticate(context.Background(), session(tok)); err != nil || p.GetContactId() != "c-new" {
		t.Errorf("on another replica after CacheTTL: %v, %v; want contact c-new", p, err)
	}
	// A code issued before the merge signs in as the surviving contact.
	r, _, err := e.codeSignIn(acme, &iamv1.CreateSessionRequest{Email: "fang@example.com", Code: pending})
	if err != nil || r.GetSession().GetContactId() != "c-new" {
		t.Errorf("the code issued before the merge: %v, %v; want a session of c-new", r, err)
	}
	// Again: nothing left to move.
	if resp, err := e.srv.Auth().ReassignContact(ctx, &iamv1.ReassignContactRequest{ContactId: "c-old", IntoContactId: "c-new"}); err != nil || resp.GetSessionsMoved() != 0 {
		t.Errorf("ReassignContact again = %v, %v; want 0", resp, err)
	}
}

// TestJanitorDeletesCodes: expired codes go with the janitor's round;
// live ones stay.
func TestJanitorDeletesCodes(t *testing.T) {
	e := newEnv(t)
	e.issueCode(e.srv, acme, "c-old", "old@example.com")
	e.clock.Advance(6 * time.Minute)
	live := e.issueCode(e.srv, acme, "c-live", "live@example.com").GetCode()
	e.clock.Advance(5 * time.Minute) // the first has expired
	e.srv.Sweep(context.Background())
	if n, err := e.st.DeleteSignInCodes(context.Background(), e.clock.Now(), 100); err != nil || n != 0 {
		t.Errorf("expired codes left after the janitor's round: %d, %v", n, err)
	}
	if _, _, err := e.codeSignIn(acme, &iamv1.CreateSessionRequest{Email: "live@example.com", Code: live}); err != nil {
		t.Errorf("the live code after the janitor's round: %v", err)
	}
}
