package store

import (
	"crypto/sha256"
	"encoding/hex"
	"net"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	iamv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/iam/v1"
	"github.com/kubedesk/kubedesk/services/iam"
	"github.com/kubedesk/kubedesk/services/platform/tenant"
	"github.com/kubedesk/kubedesk/services/platform/tenant/tenanttest"
)

// TestSignInCodeHashedAtRest issues a code through the identity service
// over each engine and reads the tables as they are: the code is in no
// text column of the codes or sessions, and what is kept is a salted
// digest, not the plain SHA-256 of the code.
func TestSignInCodeHashedAtRest(t *testing.T) {
	contract(t, func(t *testing.T, s iam.Store) {
		cfg := iam.DefaultConfig()
		cfg.Argon2 = iam.Argon2Config{MemoryKiB: 64, Iterations: 1, Threads: 1} // no password is hashed here
		gs := grpc.NewServer(tenanttest.ServerOptions()...)
		iam.NewServer(s, cfg, iam.Options{}).Register(gs)
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go func() { _ = gs.Serve(lis) }()
		defer gs.Stop()
		conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		call := tenant.Outgoing(ctx, "acme")

		issued, err := iamv1.NewAuthServiceClient(conn).IssueSignInCode(call, &iamv1.IssueSignInCodeRequest{
			ContactId: "c-wang", Email: "Wang@Example.com", DisplayName: "王芳", Locale: "zh-CN",
		})
		if err != nil {
			t.Fatal(err)
		}
		code := issued.GetCode()
		if len(code) != iam.SignInCodeDigits || strings.Trim(code, "0123456789") != "" {
			t.Fatalf("code %q, want %d digits", code, iam.SignInCodeDigits)
		}
		const row = `SELECT tenant || ' ' || id || ' ' || email || ' ' || contact_id || ' ' || display_name || ' ' || locale || ' ' || digest FROM iam_sign_in_codes`
		rows := rawStrings(t, s, row)
		if len(rows) != 1 {
			t.Fatalf("%d code rows, want 1: %q", len(rows), rows)
		}
		plain := sha256.Sum256([]byte(code))
		digest := rows[0][strings.LastIndexByte(rows[0], ' ')+1:]
		switch {
		case strings.Contains(rows[0], code):
			t.Errorf("the code %s is stored as it is: %q", code, rows[0])
		case len(digest) != 64 || strings.Trim(digest, "0123456789abcdef") != "":
			t.Errorf("digest %q, want 64 hex digits", digest)
		case digest == hex.EncodeToString(plain[:]):
			t.Errorf("digest %q is the code's unsalted SHA-256", digest)
		}

		if _, err := iamv1.NewIdentityServiceClient(conn).CreateSession(call, &iamv1.CreateSessionRequest{Email: "wang@example.com", Code: code}); err != nil {
			t.Fatalf("signing in with the code: %v", err)
		}
		for _, r := range append(rawStrings(t, s, row), rawStrings(t, s,
			`SELECT tenant || ' ' || id || ' ' || user_id || ' ' || digest || ' ' || contact_id || ' ' || email || ' ' || display_name FROM iam_sessions`)...) {
			if strings.Contains(r, code) {
				t.Errorf("after the sign-in, a row holds the code %s: %q", code, r)
			}
		}
	})
}

// rawStrings runs a query returning one text column on the store's own
// database.
func rawStrings(t *testing.T, s iam.Store, query string) []string {
	t.Helper()
	switch s := s.(type) {
	case *SQLite:
		return sqliteStrings(t, s, query)
	case *Postgres:
		return pgStrings(t, s, query)
	}
	t.Fatalf("unknown store %T", s)
	return nil
}
