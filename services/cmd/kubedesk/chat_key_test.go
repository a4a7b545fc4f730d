package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestChatVisitorKey: the configured key; else one derived from the
// internal token (the same in every process that has it); else one made
// once and kept in the data directory, so visitors survive a restart.
func TestChatVisitorKey(t *testing.T) {
	key := func(c Config) []byte {
		t.Helper()
		k, err := chatVisitorKey(&c)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	configured := strings.Repeat("k", 32)
	c := defaultConfig()
	c.DataDir = t.TempDir()
	c.Channel.Chat.VisitorKey = configured
	if got := key(c); string(got) != configured {
		t.Errorf("configured key: got %q", got)
	}
	c.Channel.Chat.VisitorKey, c.InternalToken = "", testInternalToken
	derived := key(c)
	if !bytes.Equal(derived, key(c)) || bytes.Contains(derived, []byte(testInternalToken)) || len(derived) != 32 {
		t.Errorf("derived key %x: want 32 bytes, the same each time, not the token", derived)
	}
	c.InternalToken = "another token of at least thirty-two characters"
	if bytes.Equal(derived, key(c)) {
		t.Error("two internal tokens derive one key")
	}
	c.InternalToken = ""
	kept := key(c)
	info, err := os.Stat(filepath.Join(c.DataDir, "chat-visitor.key"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("kept key file: %v, %v; want mode 0600", info, err)
	}
	if again := key(c); !bytes.Equal(kept, again) || len(kept) < 32 {
		t.Errorf("the kept key changed from %q to %q", kept, again)
	}
}
