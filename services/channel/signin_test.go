package channel_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	gomail "github.com/emersion/go-message/mail"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	channelv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/channel/v1"
	iamv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/iam/v1"
	"github.com/kubedesk/kubedesk/services/channel"
	"github.com/kubedesk/kubedesk/services/channel/email"
	"github.com/kubedesk/kubedesk/services/channel/smtpout"
	"github.com/kubedesk/kubedesk/services/channel/smtpout/smtptest"
	"github.com/kubedesk/kubedesk/services/iam"
	iamstore "github.com/kubedesk/kubedesk/services/iam/store"
	"github.com/kubedesk/kubedesk/services/platform/auth"
	"github.com/kubedesk/kubedesk/services/platform/tenant"
	"github.com/kubedesk/kubedesk/services/platform/tenant/tenanttest"
)

// signInEnv is env with customers' sign-in: the real identity service
// behind a loopback gRPC listener, and mail to an SMTP sink.
type signInEnv struct {
	*env
	identity iamv1.IdentityServiceClient
	iam      *iam.Server
	sink     *smtptest.Sink
}

// newSignInEnv serves acme's contacts with sign-in codes mailed from
// support@default.localhost through a sink, within limits (zero: the
// defaults); relay false configures no relay.
func newSignInEnv(t *testing.T, limits channel.SignInCodeConfig, relay bool) *signInEnv {
	t.Helper()
	base := newEnv(t)
	st, err := iamstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "iam.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cfg := iam.DefaultConfig()
	cfg.Argon2 = iam.Argon2Config{MemoryKiB: 64, Iterations: 1, Threads: 1} // no password is hashed here
	gs := grpc.NewServer(tenanttest.ServerOptions()...)
	ids := iam.NewServer(st, cfg, iam.Options{})
	ids.Register(gs)
	conn := serve(t, gs)

	dir, err := email.NewDirectory(nil, acme)
	if err != nil {
		t.Fatal(err)
	}
	e := &signInEnv{env: base, identity: iamv1.NewIdentityServiceClient(conn), iam: ids, sink: smtptest.Start(t)}
	mail := &email.CodeMail{Directory: dir}
	if relay {
		r, err := smtpout.ParseRelay("relay", e.sink.URL())
		if err != nil {
			t.Fatal(err)
		}
		mail.Relay = smtpout.NewSender(r, "test")
	}
	e.srv = channel.NewServer(base.st, base.tickets, slog.New(slog.DiscardHandler),
		channel.WithIdentity(iamv1.NewAuthServiceClient(conn)), channel.WithCodeMail(mail, limits))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.srv.RunSignInMail(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("RunSignInMail = %v", err)
		}
	})
	return e
}

// anonymous is a public call's context: the tenant, no principal, a
// client address as the gateway sends it.
func anonymous(tid, client string) context.Context {
	ctx := tenant.With(context.Background(), tid)
	return metadata.NewIncomingContext(ctx, metadata.Pairs(auth.ClientIPKey, client))
}

var codeInSubject = regexp.MustCompile(`[0-9]{6}`)

// codeOf is the code of a sign-in mail, read from its subject, checked
// against its body.
func codeOf(t *testing.T, m smtptest.Received) (code, subject, text string) {
	t.Helper()
	r, err := gomail.CreateReader(bytes.NewReader(m.Data))
	if err != nil {
		t.Fatal(err)
	}
	subject, _ = r.Header.Subject()
	code = codeInSubject.FindString(subject)
	for {
		p, err := r.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p.Body)
		text += strings.ReplaceAll(string(b), "\r\n", "\n")
	}
	if code == "" || !strings.Contains(text, "    "+code+"\n") {
		t.Fatalf("sign-in mail without a code in subject and body:\n%s", m.Data)
	}
	return code, subject, text
}

func TestSendSignInCode(t *testing.T) {
	e := newSignInEnv(t, channel.SignInCodeConfig{}, true)
	wang := e.createContact(acme, &channelv1.Contact{DisplayName: "王芳", Locale: "zh-CN", Identities: []*channelv1.Identity{
		emailID("wang@example.com"), emailID("fang@work.example")}})
	li := e.createContact(acme, &channelv1.Contact{DisplayName: "Li Na", Identities: []*channelv1.Identity{emailID("li@example.com")}})

	// An unknown address gets the answer a known one gets, and no mail.
	unknown, err := e.srv.SendSignInCode(anonymous(acme, "203.0.113.9"), &channelv1.SendSignInCodeRequest{Email: "nobody@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	known, err := e.srv.SendSignInCode(anonymous(acme, "203.0.113.9"), &channelv1.SendSignInCodeRequest{Email: " Fang@Work.EXAMPLE "})
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(unknown, known) {
		t.Errorf("answers differ: unknown %v, known %v", unknown, known)
	}
	got := e.sink.Wait(t, 1, 10*time.Second)
	time.Sleep(200 * time.Millisecond) // a mail for the unknown address would come now
	if n := len(e.sink.Messages()); n != 1 {
		t.Fatalf("%d mails, want the known address's only", n)
	}
	m := got[0]
	if m.From != "support@default.localhost" || len(m.To) != 1 || m.To[0] != "fang@work.example" {
		t.Errorf("envelope from %s to %v", m.From, m.To)
	}
	code, subject, text := codeOf(t, m)
	if subject != "您的登录验证码："+code || !strings.Contains(text, "王芳，您好") || !strings.Contains(text, "10 分钟内有效") {
		t.Errorf("the Chinese mail of a zh-CN contact: subject %q\n%s", subject, text)
	}

	// The code signs in as the contact, once.
	sign := func(addr, code string) (*iamv1.CreateSessionResponse, error) {
		return e.identity.CreateSession(tenant.Outgoing(context.Background(), acme), &iamv1.CreateSessionRequest{Email: addr, Code: code})
	}
	resp, err := sign("fang@work.example", code)
	if err != nil || resp.GetSession().GetContactId() != wang.GetId() {
		t.Fatalf("CreateSession with the mailed code = %v, %v; want a session of contact %s", resp, err, wang.GetId())
	}
	if _, err := sign("fang@work.example", code); status.Code(err) != codes.Unauthenticated {
		t.Errorf("second use: %v; want Unauthenticated", err)
	}

	// An English contact gets English.
	if _, err := e.srv.SendSignInCode(anonymous(acme, "203.0.113.9"), &channelv1.SendSignInCodeRequest{Email: "li@example.com"}); err != nil {
		t.Fatal(err)
	}
	code, subject, text = codeOf(t, e.sink.Wait(t, 2, 10*time.Second)[1])
	if subject != "Your sign-in code: "+code || !strings.Contains(text, "Hello Li Na,") || !strings.Contains(text, "within 10 minutes") {
		t.Errorf("the English mail: subject %q\n%s", subject, text)
	}
	if resp, err := sign("li@example.com", code); err != nil || resp.GetSession().GetContactId() != li.GetId() {
		t.Errorf("Li's sign-in: %v, %v", resp, err)
	}

	// Another tenant's contact is unknown here.
	e.createContact(globex, &channelv1.Contact{DisplayName: "G", Identities: []*channelv1.Identity{emailID("g@example.com")}})
	if _, err := e.srv.SendSignInCode(anonymous(acme, "203.0.113.9"), &channelv1.SendSignInCodeRequest{Email: "g@example.com"}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if n := len(e.sink.Messages()); n != 2 {
		t.Errorf("%d mails after asking acme for globex's contact, want 2", n)
	}
}

func TestSendSignInCodeRefusals(t *testing.T) {
	e := newSignInEnv(t, channel.SignInCodeConfig{}, true)
	_, err := e.srv.SendSignInCode(anonymous(acme, "203.0.113.9"), &channelv1.SendSignInCodeRequest{Email: "not an address"})
	if st := status.Convert(err); st.Code() != codes.InvalidArgument || !strings.HasPrefix(st.Message(), "email: ") {
		t.Errorf("a malformed address: %v; want InvalidArgument naming email", err)
	}

	// Without a relay, no code can go out, known address or not: the
	// same refusal.
	held := newSignInEnv(t, channel.SignInCodeConfig{}, false)
	held.createContact(acme, &channelv1.Contact{DisplayName: "W", Identities: []*channelv1.Identity{emailID("wang@example.com")}})
	var msgs []string
	for _, addr := range []string{"wang@example.com", "nobody@example.com"} {
		_, err := held.srv.SendSignInCode(anonymous(acme, "203.0.113.9"), &channelv1.SendSignInCodeRequest{Email: addr})
		if status.Code(err) != codes.FailedPrecondition {
			t.Errorf("%s without a relay: %v; want FailedPrecondition", addr, err)
		}
		msgs = append(msgs, status.Convert(err).Message())
	}
	if msgs[0] != msgs[1] || !strings.Contains(msgs[0], "no SMTP relay") {
		t.Errorf("refusals without a relay differ or do not say why: %q", msgs)
	}
	// A tenant with no e-mail address to send from.
	_, err = e.srv.SendSignInCode(anonymous(globex, "203.0.113.9"), &channelv1.SendSignInCodeRequest{Email: "wang@example.com"})
	if st := status.Convert(err); st.Code() != codes.FailedPrecondition || !strings.Contains(st.Message(), `tenant "globex" has no e-mail address`) {
		t.Errorf("a tenant without e-mail: %v", err)
	}

	// Without the identity module nothing can be issued.
	bare := channel.NewServer(e.st, e.tickets, nil)
	if _, err := bare.SendSignInCode(anonymous(acme, "203.0.113.9"), &channelv1.SendSignInCodeRequest{Email: "wang@example.com"}); status.Code(err) != codes.Unavailable {
		t.Errorf("without the identity module: %v; want Unavailable", err)
	}
}

// TestSendSignInCodeLimits: per address, known or not alike, and per
// client.
func TestSendSignInCodeLimits(t *testing.T) {
	e := newSignInEnv(t, channel.SignInCodeConfig{
		PerAddress: auth.Rate{PerSecond: 1.0 / 3600, Burst: 2},
		PerClient:  auth.Rate{PerSecond: 1.0 / 3600, Burst: 6},
	}, true)
	e.createContact(acme, &channelv1.Contact{DisplayName: "W", Identities: []*channelv1.Identity{emailID("wang@example.com")}})
	ask := func(client, addr string) error {
		_, err := e.srv.SendSignInCode(anonymous(acme, client), &channelv1.SendSignInCodeRequest{Email: addr})
		return err
	}
	var refusals []string
	for _, addr := range []string{"wang@example.com", "nobody@example.com"} {
		for i := range 3 {
			err := ask("203.0.113."+string(rune('1'+i)), addr) // three clients: the address's limit
			if i < 2 {
				if err != nil {
					t.Errorf("%s, try %d: %v", addr, i+1, err)
				}
				continue
			}
			st := status.Convert(err)
			if st.Code() != codes.ResourceExhausted || !strings.HasPrefix(st.Message(), "email: too many sign-in codes asked for this address; retry after ") {
				t.Errorf("%s, third try: %v; want ResourceExhausted naming email", addr, err)
			}
			refusals = append(refusals, st.Message())
		}
	}
	if len(refusals) == 2 && refusals[0] != refusals[1] {
		t.Errorf("the refusals of a known and an unknown address differ: %q", refusals)
	}
	// One client walking through addresses.
	for i := range 7 {
		err := ask("198.51.100.7", "walker"+string(rune('a'+i))+"@example.com")
		if i < 6 && err != nil {
			t.Errorf("address %d from one client: %v", i+1, err)
		}
		if i == 6 && status.Code(err) != codes.ResourceExhausted {
			t.Errorf("the 7th address from one client: %v; want ResourceExhausted", err)
		}
	}
	// The same /64 of IPv6 is one client.
	for i := range 7 {
		err := ask(fmt.Sprintf("2001:db8:1:2::%x", i+1), fmt.Sprintf("v6-%d@example.com", i))
		if i == 6 && status.Code(err) != codes.ResourceExhausted {
			t.Errorf("the 7th address from one /64: %v; want ResourceExhausted", err)
		}
	}
	if n := len(e.sink.Wait(t, 2, 10*time.Second)); n != 2 {
		t.Errorf("%d mails, want 2 (Wang's two codes)", n)
	}
}

// TestMergeMovesCustomerSessions: a customer signed in as a contact that
// is merged away acts as the contact it was merged into.
func TestMergeMovesCustomerSessions(t *testing.T) {
	e := newSignInEnv(t, channel.SignInCodeConfig{}, true)
	old := e.createContact(acme, &channelv1.Contact{DisplayName: "Old", Identities: []*channelv1.Identity{emailID("old@example.com")}})
	into := e.createContact(acme, &channelv1.Contact{DisplayName: "New", Identities: []*channelv1.Identity{emailID("new@example.com")}})
	if _, err := e.srv.SendSignInCode(anonymous(acme, "203.0.113.9"), &channelv1.SendSignInCodeRequest{Email: "old@example.com"}); err != nil {
		t.Fatal(err)
	}
	code, _, _ := codeOf(t, e.sink.Wait(t, 1, 10*time.Second)[0])
	var header metadata.MD
	ctx := tenant.Outgoing(context.Background(), acme)
	resp, err := e.identity.CreateSession(ctx, &iamv1.CreateSessionRequest{Email: "old@example.com", Code: code}, grpc.Header(&header))
	if err != nil || resp.GetSession().GetContactId() != old.GetId() {
		t.Fatalf("sign-in as the old contact: %v, %v", resp, err)
	}
	token := header.Get(auth.SessionTokenKey)
	if len(token) != 1 {
		t.Fatal("no session token")
	}
	principal := func() *iamv1.Principal {
		t.Helper()
		p, err := e.iam.Authenticator().Authenticate(context.Background(),
			auth.Credential{Kind: iamv1.CredentialKind_CREDENTIAL_KIND_SESSION, Secret: token[0]})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	if p := principal(); p.GetContactId() != old.GetId() {
		t.Fatalf("before the merge the session is contact %q's, want %s", p.GetContactId(), old.GetId())
	}

	if _, err := e.srv.MergeContact(call(acme), &channelv1.MergeContactRequest{Id: old.GetId(), Into: into.GetId()}); err != nil {
		t.Fatalf("MergeContact: %v", err)
	}
	if p := principal(); p.GetContactId() != into.GetId() || p.GetId() != into.GetId() {
		t.Errorf("after the merge the session is %v; want contact %s", p, into.GetId())
	}
	// A code asked for the old address, now the survivor's, signs in as
	// the survivor too.
	if _, err := e.srv.SendSignInCode(anonymous(acme, "203.0.113.9"), &channelv1.SendSignInCodeRequest{Email: "old@example.com"}); err != nil {
		t.Fatal(err)
	}
	code, _, _ = codeOf(t, e.sink.Wait(t, 2, 10*time.Second)[1])
	resp, err = e.identity.CreateSession(ctx, &iamv1.CreateSessionRequest{Email: "old@example.com", Code: code})
	if err != nil || resp.GetSession().GetContactId() != into.GetId() {
		t.Errorf("a new sign-in with the merged contact's address: %v, %v; want contact %s", resp, err, into.GetId())
	}
}
