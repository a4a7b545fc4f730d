// Package iam is kubedesk's identity and access component: users and their
// passwords (argon2id), sessions, API keys (SHA-256 digests, one lookup),
// the audit log of security events, and the Authenticator every gRPC
// server's access interceptor uses. It serves kubedesk.iam.v1's
// IdentityService (REST) and AuthService (internal).
package iam
