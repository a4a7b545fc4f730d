// Package oidctest runs an OpenID Connect issuer for tests, as httptest
// runs an HTTP server: its own keys, a discovery document, a key set it
// can rotate, and signed tokens.
package oidctest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/go-jose/go-jose/v4"
)

// Issuer is an OpenID Connect issuer a test runs: a discovery document
// and a key set, whose keys the test rotates.
type Issuer struct {
	*httptest.Server

	mu        sync.Mutex
	published []jose.JSONWebKey
	fetches   atomic.Int64
}

// Fetches is how many times the key set was fetched.
func (is *Issuer) Fetches() int64 { return is.fetches.Load() }

// Key is a private key and the kid it is published under.
type Key struct {
	kid string
	alg jose.SignatureAlgorithm
	key crypto.Signer
}

// NewRSAKey makes an RS256 key.
func NewRSAKey(t testing.TB, kid string) Key {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return Key{kid: kid, alg: jose.RS256, key: k}
}

// NewECKey makes an ES256 key.
func NewECKey(t testing.TB, kid string) Key {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return Key{kid: kid, alg: jose.ES256, key: k}
}

func (k Key) public() jose.JSONWebKey {
	return jose.JSONWebKey{Key: k.key.Public(), KeyID: k.kid, Algorithm: string(k.alg), Use: "sig"}
}

// Start serves an issuer that publishes keys, until the test ends.
func Start(t testing.TB, keys ...Key) *Issuer {
	is := &Issuer{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, map[string]any{
			"issuer":                                is.URL,
			"authorization_endpoint":                is.URL + "/authorize",
			"token_endpoint":                        is.URL + "/token",
			"jwks_uri":                              is.URL + "/keys",
			"response_types_supported":              []string{"code"},
			"subject_types_supported":               []string{"public"},
			"id_token_signing_alg_values_supported": []string{"RS256", "ES256"},
		})
	})
	mux.HandleFunc("GET /keys", func(w http.ResponseWriter, _ *http.Request) {
		is.fetches.Add(1)
		is.mu.Lock()
		set := jose.JSONWebKeySet{Keys: is.published}
		is.mu.Unlock()
		writeJSON(w, set)
	})
	is.Server = httptest.NewServer(mux)
	t.Cleanup(is.Close)
	is.Publish(keys...)
	return is
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// Publish replaces the key set.
func (is *Issuer) Publish(keys ...Key) {
	is.mu.Lock()
	defer is.mu.Unlock()
	is.published = nil
	for _, k := range keys {
		is.published = append(is.published, k.public())
	}
}

// Sign makes a token of claims with key.
func Sign(t testing.TB, key Key, claims map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: key.alg, Key: jose.JSONWebKey{Key: key.key, KeyID: key.kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}
