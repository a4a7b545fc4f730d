package channel

import (
	"context"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	channelv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/channel/v1"
	iamv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/iam/v1"
	"github.com/kubedesk/kubedesk/services/channel/email"
	"github.com/kubedesk/kubedesk/services/channel/store"
	"github.com/kubedesk/kubedesk/services/platform/auth"
	"github.com/kubedesk/kubedesk/services/platform/tenant"
)

// CodeMailer mails customers' sign-in codes; *email.CodeMail is one.
type CodeMailer interface {
	// CanMail reports why the tenant's codes cannot be mailed, or nil.
	CanMail(tenantID string) error
	// MailSignInCode sends one code.
	MailSignInCode(ctx context.Context, c email.SignInCode) error
}

// Option configures a Server.
type Option func(*Server)

// WithIdentity gives the server the identity module's internal
// AuthService (a connection carrying the module's own credential): it
// issues sign-in codes, and a merge moves the merged contact's customer
// sessions through it. Without it SendSignInCode is UNAVAILABLE and a
// merge leaves customer sessions as they are.
func WithIdentity(c iamv1.AuthServiceClient) Option { return func(s *Server) { s.identity = c } }

// WithCodeMail sends sign-in codes through m, within the limits of cfg
// (zero rates take the defaults). RunSignInMail must run for any to go
// out.
func WithCodeMail(m CodeMailer, cfg SignInCodeConfig) Option {
	return func(s *Server) {
		def := DefaultConfig().SignInCodes
		if cfg.PerAddress.PerSecond <= 0 {
			cfg.PerAddress = def.PerAddress
		}
		if cfg.PerClient.PerSecond <= 0 {
			cfg.PerClient = def.PerClient
		}
		s.mailer = m
		s.perAddress = auth.NewLimiter(cfg.PerAddress)
		s.perClient = auth.NewLimiter(cfg.PerClient)
	}
}

// codeJob is a code to issue and mail.
type codeJob struct {
	tenant  string
	email   string
	contact store.Contact
}

// codeQueue bounds the codes waiting to be mailed; more are dropped (and
// logged): the customer asks again.
const codeQueue = 256

// codeWorkers is how many codes are issued and mailed at once.
const codeWorkers = 4

// SendSignInCode implements channelv1.ContactServiceServer. The answer
// does not depend on whether the address is a contact's: the lookup runs
// either way, and the code is issued and mailed after the answer, by
// RunSignInMail.
func (s *Server) SendSignInCode(ctx context.Context, req *channelv1.SendSignInCodeRequest) (*channelv1.SendSignInCodeResponse, error) {
	tid, err := callTenant(ctx)
	if err != nil {
		return nil, err
	}
	id, err := store.NormalizeIdentity(store.Identity{Type: channelv1.IdentityType_IDENTITY_TYPE_EMAIL, Value: req.GetEmail()})
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "email: %v", err)
	}
	if s.identity == nil || s.mailer == nil {
		return nil, status.Error(codes.Unavailable, "customers' sign-in codes are not available here: the channel module runs without the identity module or outbound mail")
	}
	if err := s.mailer.CanMail(tid); err != nil {
		return nil, status.Errorf(codes.FailedPrecondition, "email: no sign-in code can be sent: %v", err)
	}
	now := time.Now()
	client := auth.ClientIP(ctx)
	if d := s.perClient.Allow(auth.ClientKey(client), now); !d.Allowed {
		return nil, throttled(ctx, d, "too many sign-in codes asked for from "+client)
	}
	if d := s.perAddress.Allow(tid+"\x00"+id.Value, now); !d.Allowed {
		return nil, throttled(ctx, d, "email: too many sign-in codes asked for this address")
	}
	found, err := s.store.ListContacts(ctx, tid, store.ContactQuery{Identity: &id, Limit: 1})
	if err != nil {
		return nil, s.storeError(ctx, err, "contact")
	}
	if len(found) == 1 {
		select {
		case s.codes <- codeJob{tenant: tid, email: id.Value, contact: found[0]}:
		default:
			s.log.WarnContext(ctx, "sign-in code dropped: too many waiting to be mailed", "tenant", tid, "contact", found[0].ID)
		}
	}
	return &channelv1.SendSignInCodeResponse{}, nil
}

// RunSignInMail issues and mails the codes SendSignInCode asked for until
// ctx ends; codes still waiting then are not sent (they were never
// issued).
func (s *Server) RunSignInMail(ctx context.Context) error {
	done := make(chan struct{})
	for range codeWorkers {
		go func() {
			defer func() { done <- struct{}{} }()
			for {
				select {
				case <-ctx.Done():
					return
				case j := <-s.codes:
					s.mailCode(ctx, j)
				}
			}
		}()
	}
	for range codeWorkers {
		<-done
	}
	return ctx.Err()
}

// mailCode has a code issued for j and mails it. Failures are logged: the
// customer, told nothing either way, asks again.
func (s *Server) mailCode(ctx context.Context, j codeJob) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	resp, err := s.identity.IssueSignInCode(tenant.Outgoing(ctx, j.tenant), &iamv1.IssueSignInCodeRequest{
		ContactId:   j.contact.ID,
		Email:       j.email,
		DisplayName: truncate(j.contact.DisplayName, 200),
		Locale:      j.contact.Locale,
	})
	if err != nil {
		s.log.ErrorContext(ctx, "issuing a sign-in code", "err", err, "tenant", j.tenant, "contact", j.contact.ID)
		return
	}
	err = s.mailer.MailSignInCode(ctx, email.SignInCode{
		Tenant:     j.tenant,
		To:         j.email,
		Name:       j.contact.DisplayName,
		Locale:     j.contact.Locale,
		Code:       resp.GetCode(),
		ExpireTime: resp.GetExpireTime().AsTime(),
	})
	if err != nil {
		s.log.ErrorContext(ctx, "mailing a sign-in code", "err", err, "tenant", j.tenant, "contact", j.contact.ID)
	}
}

// reassignSessions makes the customer sessions of a merged contact those
// of the contact it was merged into.
func (s *Server) reassignSessions(ctx context.Context, tid, from, into string) error {
	if s.identity == nil {
		return nil
	}
	_, err := s.identity.ReassignContact(outgoing(ctx, tid), &iamv1.ReassignContactRequest{ContactId: from, IntoContactId: into})
	return err
}

// throttled is the RESOURCE_EXHAUSTED of a rate limit, with the headers
// the gateway turns into Retry-After and RateLimit-*.
func throttled(ctx context.Context, d auth.Decision, what string) error {
	md, retry := d.Refusal()
	_ = grpc.SetHeader(ctx, md) // a call without a transport (a unit test) has no headers to set
	return status.Errorf(codes.ResourceExhausted, "%s; retry after %d seconds", what, retry)
}
