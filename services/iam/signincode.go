package iam

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	iamv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/iam/v1"
	"github.com/kubedesk/kubedesk/services/platform/auth"
)

// Customers (contacts of the channel service) sign in with a one-time
// code: the channel service asks for one (IssueSignInCode) and mails it;
// CreateSession with the address and the code makes a session of the
// contact, whose principal has the role customer and the contact's ID.
const (
	// SignInCodeDigits is the length of a code.
	SignInCodeDigits = 6
	// SignInCodeAttempts is how many wrong codes an address may try
	// against one code before the code is spent.
	SignInCodeAttempts = 5
)

// errCodeSignIn is the one answer to an unknown address and a wrong,
// expired, spent or used code, so that none tells which it was.
var errCodeSignIn = status.Error(codes.Unauthenticated,
	"code: is wrong, expired or already used; accepted: the code of the latest mail from POST /v1/contacts:sendSignInCode, within its lifetime, once")

// newSignInCode returns SignInCodeDigits random decimal digits.
func newSignInCode() string {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		panic(fmt.Sprintf("iam: crypto/rand failed: %v", err)) // never, on supported platforms
	}
	return fmt.Sprintf("%06d", n.Int64())
}

// codeDigest is the stored form of a sign-in code: SHA-256 of the code
// salted with the tenant, the address and the code's own random ID, so
// that equal codes of two addresses do not look alike and no table of
// digests serves for all. Six digits are few: someone holding the table
// can still try them all against one digest, which is why a code also
// works only once, for minutes, and for SignInCodeAttempts wrong tries.
func codeDigest(tenantID, email, id, code string) string {
	sum := sha256.Sum256([]byte("kubedesk sign-in code\x00" + tenantID + "\x00" + email + "\x00" + id + "\x00" + code))
	return hex.EncodeToString(sum[:])
}

// checkCodeFormat refuses what cannot be a code, naming the field.
func checkCodeFormat(code string) error {
	if len(code) != SignInCodeDigits || strings.Trim(code, "0123456789") != "" {
		return status.Errorf(codes.InvalidArgument, "code: must be the %d digits of the sign-in code mailed to the address (got %d characters)", SignInCodeDigits, len([]rune(code)))
	}
	return nil
}

// IssueSignInCode implements iamv1.AuthServiceServer.
func (x authServer) IssueSignInCode(ctx context.Context, req *iamv1.IssueSignInCodeRequest) (*iamv1.IssueSignInCodeResponse, error) {
	s := x.s
	tid := callTenant(ctx)
	email := strings.ToLower(strings.TrimSpace(req.GetEmail()))
	contact := strings.TrimSpace(req.GetContactId())
	switch {
	case email == "":
		return nil, status.Error(codes.InvalidArgument, "email: is required")
	case contact == "":
		return nil, status.Error(codes.InvalidArgument, "contact_id: is required")
	}
	code := newSignInCode()
	now := s.now()
	c := SignInCode{
		Tenant:       tid,
		ID:           newID(),
		Email:        email,
		ContactID:    contact,
		DisplayName:  strings.TrimSpace(req.GetDisplayName()),
		Locale:       req.GetLocale(),
		AttemptsLeft: SignInCodeAttempts,
		CreateTime:   now,
		ExpireTime:   now.Add(time.Duration(s.cfg.SignInCodeTTL)),
	}
	c.Digest = codeDigest(tid, email, c.ID, code)
	if err := s.store.CreateSignInCode(ctx, c); err != nil {
		return nil, s.storeError(ctx, err, "sign-in code")
	}
	s.audit(ctx, tid, iamv1.AuditEventType_AUDIT_EVENT_TYPE_SIGN_IN_CODE_ISSUED, actorOf(auth.From(ctx)), email,
		"contact "+contact+"; valid until "+c.ExpireTime.Format(time.RFC3339))
	return &iamv1.IssueSignInCodeResponse{Code: code, ExpireTime: timestamppb.New(c.ExpireTime)}, nil
}

// ReassignContact implements iamv1.AuthServiceServer.
func (x authServer) ReassignContact(ctx context.Context, req *iamv1.ReassignContactRequest) (*iamv1.ReassignContactResponse, error) {
	s := x.s
	from, into := strings.TrimSpace(req.GetContactId()), strings.TrimSpace(req.GetIntoContactId())
	switch {
	case from == "":
		return nil, status.Error(codes.InvalidArgument, "contact_id: is required")
	case into == "":
		return nil, status.Error(codes.InvalidArgument, "into_contact_id: is required")
	case from == into:
		return nil, status.Errorf(codes.InvalidArgument, "into_contact_id: %q is contact_id; accepted: the contact it was merged into", into)
	}
	n, err := s.store.ReassignContact(ctx, callTenant(ctx), from, into)
	if err != nil {
		return nil, s.storeError(ctx, err, "contact "+strconv.Quote(from))
	}
	// This process's cached principals name the old contact; others'
	// expire within CacheTTL.
	s.cache.Flush()
	return &iamv1.ReassignContactResponse{SessionsMoved: int32(n)}, nil
}

// createCustomerSession is CreateSession with a sign-in code: it signs
// the code's contact in as a customer.
func (s *Server) createCustomerSession(ctx context.Context, tid, email, code string) (*iamv1.CreateSessionResponse, error) {
	if err := checkCodeFormat(code); err != nil {
		return nil, err
	}
	now := s.now()
	c, err := s.store.UseSignInCode(ctx, tid, email, now, func(c SignInCode) bool {
		want, got := c.Digest, codeDigest(c.Tenant, c.Email, c.ID, code)
		return subtle.ConstantTimeCompare([]byte(want), []byte(got)) == 1
	})
	switch {
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrWrongCode):
		detail := "no live sign-in code for the address"
		if errors.Is(err, ErrWrongCode) {
			detail = "wrong sign-in code"
		}
		s.audit(ctx, tid, iamv1.AuditEventType_AUDIT_EVENT_TYPE_SIGN_IN_FAILED, Actor{}, email, detail)
		return nil, errCodeSignIn
	case err != nil:
		return nil, s.storeError(ctx, err, "sign-in code")
	}

	out, err := s.startSession(ctx, Session{Tenant: tid, ContactID: c.ContactID, Email: c.Email, DisplayName: c.DisplayName, Locale: c.Locale}, now)
	if err != nil {
		return nil, err
	}
	actor := Actor{ID: c.ContactID, Kind: iamv1.PrincipalKind_PRINCIPAL_KIND_CUSTOMER, DisplayName: c.DisplayName}
	s.audit(ctx, tid, iamv1.AuditEventType_AUDIT_EVENT_TYPE_SIGN_IN_SUCCEEDED, actor, c.Email,
		"customer session "+out.GetId()+" with a one-time code")
	return &iamv1.CreateSessionResponse{Session: out}, nil
}

// customerPrincipal is the principal of a customer's session.
func customerPrincipal(ses Session) *iamv1.Principal {
	return &iamv1.Principal{
		Id:          ses.ContactID,
		Kind:        iamv1.PrincipalKind_PRINCIPAL_KIND_CUSTOMER,
		Tenant:      ses.Tenant,
		Roles:       []iamv1.Role{iamv1.Role_ROLE_CUSTOMER},
		DisplayName: ses.DisplayName,
		Email:       ses.Email,
		ContactId:   ses.ContactID,
		SessionId:   ses.ID,
		ExpireTime:  timestamp(ses.ExpireTime),
		Locale:      ses.Locale,
	}
}
