package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"

	"google.golang.org/grpc/credentials"

	iamv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/iam/v1"
)

// ServiceTokenPrefix starts every service token, so that one found in a
// log or a repository is recognised as kubedesk's.
const ServiceTokenPrefix = "kds_"

// ServicePrincipalID is the ID of kubedesk's own modules calling each
// other.
const ServicePrincipalID = "service:kubedesk"

// NewServiceToken returns a new service token: 256 random bits.
func NewServiceToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand crashes the program instead)
	return ServiceTokenPrefix + base64.RawURLEncoding.EncodeToString(b)
}

// servicePrincipal is who presents the service token: kubedesk's own
// modules, in any tenant they name.
func servicePrincipal() *iamv1.Principal {
	return &iamv1.Principal{
		Id:          ServicePrincipalID,
		Kind:        iamv1.PrincipalKind_PRINCIPAL_KIND_SERVICE,
		Roles:       []iamv1.Role{iamv1.Role_ROLE_SERVICE},
		Tenants:     []string{"*"},
		DisplayName: "kubedesk",
	}
}

// WithServiceToken returns an Authenticator that knows the service token
// (a bearer equal to token is kubedesk's service principal) and asks next
// about every other credential; with a nil next, every other credential
// is refused.
func WithServiceToken(token string, next Authenticator) Authenticator {
	return &serviceTokens{token: []byte(token), next: next}
}

type serviceTokens struct {
	token []byte
	next  Authenticator
}

func (s *serviceTokens) Authenticate(ctx context.Context, c Credential) (*iamv1.Principal, error) {
	if c.Kind == iamv1.CredentialKind_CREDENTIAL_KIND_BEARER && len(s.token) > 0 &&
		subtle.ConstantTimeCompare([]byte(c.Secret), s.token) == 1 {
		return servicePrincipal(), nil
	}
	if s.next == nil {
		return nil, fmt.Errorf("not the service token, and no other credentials are known: %w", ErrUnauthenticated)
	}
	return s.next.Authenticate(ctx, c)
}

func (s *serviceTokens) Audit(ctx context.Context, e *iamv1.AuditEvent) {
	if s.next != nil {
		s.next.Audit(ctx, e)
	}
}

// ServiceCredentials returns the per-call credentials of kubedesk's own
// gRPC clients: the service token as a bearer. They travel over plain
// connections too (RequireTransportSecurity is false): inside one process
// or cluster network, where TLS is the deployment's choice.
func ServiceCredentials(token string) credentials.PerRPCCredentials {
	return serviceCredentials{header: "Bearer " + token}
}

type serviceCredentials struct{ header string }

func (c serviceCredentials) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{AuthorizationKey: c.header}, nil
}

func (serviceCredentials) RequireTransportSecurity() bool { return false }
