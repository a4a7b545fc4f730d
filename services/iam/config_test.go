package iam_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/kubedesk/kubedesk/services/iam"
	"github.com/kubedesk/kubedesk/services/platform/config"
)

func TestConfig(t *testing.T) {
	if err := iam.DefaultConfig().Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	tests := []struct {
		name   string
		change func(*iam.Config)
		want   string
	}{
		{"idle longer than absolute", func(c *iam.Config) { c.SessionIdleTimeout = config.Duration(200 * time.Hour) }, "iam.sessionIdleTimeout: 200h0m0s is out of range; accepted: positive and at most sessionAbsoluteTimeout (168h0m0s)"},
		{"absolute zero", func(c *iam.Config) { c.SessionAbsoluteTimeout = 0 }, "iam.sessionAbsoluteTimeout: 0s is not positive"},
		{"cache too long", func(c *iam.Config) { c.CacheTTL = config.Duration(time.Hour) }, "iam.cacheTTL: 1h0m0s is out of range; accepted: 0 (no cache) to 1m"},
		{"retention short", func(c *iam.Config) { c.AuditRetention = config.Duration(time.Hour) }, "iam.auditRetention: 1h0m0s is too short"},
		{"no failures", func(c *iam.Config) { c.SignIn.MaxFailures = 0 }, "iam.signIn.maxFailures: 0 is not positive"},
		{"no window", func(c *iam.Config) { c.SignIn.Window = 0 }, "iam.signIn.window: 0s is not positive"},
		{"no threads", func(c *iam.Config) { c.Argon2.Threads = 0 }, "iam.argon2.threads: 0 is not positive"},
		{"little memory", func(c *iam.Config) { c.Argon2.MemoryKiB = 8 }, "iam.argon2.memoryKiB: 8 is out of range; accepted: 16 (8 per thread)"},
		{"no iterations", func(c *iam.Config) { c.Argon2.Iterations = 0 }, "iam.argon2.iterations: 0 is out of range"},
		{"short passwords", func(c *iam.Config) { c.MinPasswordLength = 8 }, "iam.minPasswordLength: 8 is out of range; accepted: 12 to 1024"},
		{"code for seconds", func(c *iam.Config) { c.SignInCodeTTL = config.Duration(30 * time.Second) }, "iam.signInCodeTTL: 30s is out of range; accepted: 1m to 1h"},
		{"code for a day", func(c *iam.Config) { c.SignInCodeTTL = config.Duration(24 * time.Hour) }, "iam.signInCodeTTL: 24h0m0s is out of range; accepted: 1m to 1h"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := iam.DefaultConfig()
			tt.change(&c)
			err := c.Validate()
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("Validate = %v, want %q", err, tt.want)
			}
		})
	}

	// The YAML section's keys.
	var c iam.Config
	in := `{"sessionIdleTimeout":"1h","sessionAbsoluteTimeout":"24h","cacheTTL":"5s","auditRetention":"720h",
		"signIn":{"maxFailures":3,"window":"5m"},"argon2":{"memoryKiB":32768,"iterations":3,"threads":1},"minPasswordLength":16,"signInCodeTTL":"15m"}`
	if err := json.Unmarshal([]byte(in), &c); err != nil {
		t.Fatal(err)
	}
	want := iam.Config{
		SessionIdleTimeout: config.Duration(time.Hour), SessionAbsoluteTimeout: config.Duration(24 * time.Hour),
		CacheTTL: config.Duration(5 * time.Second), AuditRetention: config.Duration(720 * time.Hour),
		SignIn: iam.SignInConfig{MaxFailures: 3, Window: config.Duration(5 * time.Minute)},
		Argon2: iam.Argon2Config{MemoryKiB: 32768, Iterations: 3, Threads: 1}, MinPasswordLength: 16,
		SignInCodeTTL: config.Duration(15 * time.Minute),
	}
	if c != want {
		t.Errorf("decoded %+v, want %+v", c, want)
	}
	if err := c.Validate(); err != nil {
		t.Error(err)
	}
}
