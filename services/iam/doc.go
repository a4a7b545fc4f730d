// Package iam is kubedesk's identity and access component: users and their
// passwords (argon2id), sessions, API keys (SHA-256 digests, one lookup),
// customers' one-time sign-in codes (salted SHA-256 digests), the audit
// log of security events, and the Authenticator every gRPC server's
// access interceptor uses. It serves kubedesk.iam.v1's IdentityService
// (REST) and AuthService (internal).
//
// A customer is a contact of the channel service, which iam does not
// keep: the channel service has a code issued for a contact's address
// (AuthService.IssueSignInCode) and mails it; CreateSession with the
// address and the code makes a session that names the contact, and its
// principal carries the contact ID and the role customer. A merge moves
// a contact's sessions and codes to the surviving contact
// (AuthService.ReassignContact).
//
// Secrets are never stored or shown: a session token travels only in the
// kubedesk-session-token response header of CreateSession (the gateway
// turns it into a cookie), an API key's secret only in CreateApiKey's
// response; the store keeps their SHA-256 digests. Passwords are checked
// only at sign-in and by ChangePassword, never per request.
//
// Each process verifies credentials through (*Server).Authenticator, which
// caches a verified credential for Config.CacheTTL: a revocation is seen
// at once by the replica that made it and within CacheTTL by the others.
// Processes without the store use NewRemote. The sign-in throttle
// (Config.SignIn) counts failures in each replica's memory.
package iam
