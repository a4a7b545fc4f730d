package chat

import (
	"errors"
	"strings"
	"testing"
)

func TestTokens(t *testing.T) {
	keys := NewTokens([]byte("0123456789abcdef0123456789abcdef"))
	other := NewTokens([]byte("another key of thirty-two bytes!"))
	token, id := keys.Issue("acme")
	if got, err := keys.Verify("acme", token); err != nil || got != id {
		t.Fatalf("Verify(own token) = %q, %v; want %q", got, err, id)
	}
	if _, again := keys.Issue("acme"); again == id {
		t.Error("two visitors got one ID")
	}
	version, rest, _ := strings.Cut(token, ".")
	vid, mac, _ := strings.Cut(rest, ".")
	flipped := []byte(mac)
	flipped[3] ^= 1
	otherToken, _ := other.Issue("acme")
	for name, bad := range map[string]string{
		"another tenant":     "", // checked below with globex
		"another key":        otherToken,
		"tampered MAC":       version + "." + vid + "." + string(flipped),
		"another ID":         version + ".AAAAAAAAAAAAAAAAAAAAAA." + mac,
		"another version":    "v2." + vid + "." + mac,
		"no MAC":             version + "." + vid,
		"empty":              "",
		"garbage":            "<script>alert(1)</script>",
		"ID not base64":      version + "." + strings.Repeat("*", 22) + "." + keys.mac("acme", strings.Repeat("*", 22)),
		"ID of another size": version + ".AAAA." + keys.mac("acme", "AAAA"),
	} {
		tenantID := "acme"
		if name == "another tenant" {
			bad, tenantID = token, "globex"
		}
		if _, err := keys.Verify(tenantID, bad); !errors.Is(err, ErrToken) {
			t.Errorf("%s: Verify = %v, want ErrToken", name, err)
		}
	}
}
