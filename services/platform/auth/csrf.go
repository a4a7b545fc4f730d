package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
)

// CSRFToken is the anti-forgery token of a session: a digest of the
// session token, so the gateway checks it without a lookup, and knowing it
// reveals nothing about the session token. A page on another site can
// send the cookie but cannot read it, so it cannot compute the token.
func CSRFToken(sessionToken string) string {
	sum := sha256.Sum256([]byte("kubedesk csrf\x00" + sessionToken))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// CheckCSRF reports whether token is the session's CSRF token.
func CheckCSRF(sessionToken, token string) bool {
	return subtle.ConstantTimeCompare([]byte(CSRFToken(sessionToken)), []byte(token)) == 1
}
