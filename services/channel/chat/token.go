package chat

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
)

// tokenVersion starts every visitor token, so that a later format can be
// told apart.
const tokenVersion = "v1"

// ErrToken is a visitor token that was not signed with this deployment's
// key for this tenant, or is not a token at all.
var ErrToken = errors.New("not a visitor token of this tenant")

// Tokens issues and checks visitor tokens: v1.<visitor ID>.<HMAC-SHA256 of
// the tenant and the ID>, base64url. The ID is 128 random bits; the MAC
// binds it to the tenant, so a token works in its own tenant only.
type Tokens struct{ key []byte }

// NewTokens returns tokens signed with key (at least 32 bytes).
func NewTokens(key []byte) *Tokens { return &Tokens{key: key} }

// Issue makes a new visitor's token.
func (t *Tokens) Issue(tenantID string) (token, visitorID string) {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // never fails (crypto/rand crashes the program instead)
	visitorID = base64.RawURLEncoding.EncodeToString(b)
	return tokenVersion + "." + visitorID + "." + t.mac(tenantID, visitorID), visitorID
}

// Verify returns the visitor ID of a token of tenantID, or ErrToken.
func (t *Tokens) Verify(tenantID, token string) (string, error) {
	version, rest, ok := strings.Cut(token, ".")
	if !ok || version != tokenVersion {
		return "", ErrToken
	}
	id, mac, ok := strings.Cut(rest, ".")
	if !ok || len(id) != 22 || !hmac.Equal([]byte(mac), []byte(t.mac(tenantID, id))) {
		return "", ErrToken
	}
	if raw, err := base64.RawURLEncoding.DecodeString(id); err != nil || len(raw) != 16 {
		return "", ErrToken
	}
	return id, nil
}

func (t *Tokens) mac(tenantID, visitorID string) string {
	h := hmac.New(sha256.New, t.key)
	h.Write([]byte("kubedesk chat visitor\x00" + tenantID + "\x00" + visitorID))
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}
