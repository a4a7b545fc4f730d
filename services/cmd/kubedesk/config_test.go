package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/kubedesk/kubedesk/services/platform/auth"
	"github.com/kubedesk/kubedesk/services/platform/auth/oidc"
	"github.com/kubedesk/kubedesk/services/platform/config"
	"github.com/kubedesk/kubedesk/services/ticket"
)

// TestParseSections reads each module's section from the file, the
// environment and the flags, in that order of precedence.
func TestParseSections(t *testing.T) {
	file := filepath.Join(t.TempDir(), "kubedesk.yaml")
	if err := os.WriteFile(file, []byte(`apiVersion: kubedesk.io/v1alpha1
kind: KubedeskConfig
spec:
  ticket:
    priorityMatrix: ["P1 P1 P2", "P2 P3 P4", "P3 P4 P5"]
    idempotencyKeyTTL: 48h
  worker: {temporal: {address: "temporal:7233", namespace: acme}}
  gateway: {maxRequestBytes: 2048}
  iam:
    rateLimit: {perSecond: 5, burst: 10}
    oidc: {issuerURL: "https://login.acme.example/realms/acme", audience: kubedesk, tenant: acme}
    signInCodeTTL: 15m
  channel:
    signInCodes: {perAddress: {perSecond: 0.0014, burst: 5}}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	matrix, err := ticket.ParseMatrix([]string{"P1 P1 P2", "P2 P3 P4", "P3 P4 P5"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want func(*Config)
	}{
		{name: "defaults", want: func(*Config) {}},
		{name: "idempotency key TTL", args: []string{"--idempotency-key-ttl=72h"},
			want: func(c *Config) { c.Ticket.IdempotencyKeyTTL = config.Duration(72 * time.Hour) }},
		{name: "file", args: []string{"--config", file}, want: func(c *Config) {
			c.File = file
			c.Ticket.Matrix, c.Ticket.IdempotencyKeyTTL = matrix, config.Duration(48*time.Hour)
			c.Worker.Temporal.Address, c.Worker.Temporal.Namespace = "temporal:7233", "acme"
			c.Gateway.MaxRequestBytes = 2048
			c.IAM.RateLimit = auth.Rate{PerSecond: 5, Burst: 10}
			c.IAM.OIDC = oidc.Config{IssuerURL: "https://login.acme.example/realms/acme", Audience: "kubedesk", Tenant: "acme"}
			c.IAM.SignInCodeTTL = config.Duration(15 * time.Minute)
			c.Channel.SignInCodes.PerAddress = auth.Rate{PerSecond: 0.0014, Burst: 5} // perClient keeps its default
		}},
		{name: "identity from the environment", env: map[string]string{
			"KUBEDESK_INTERNAL_TOKEN": testInternalToken, "KUBEDESK_BOOTSTRAP_ADMIN_KEY": "kd_" + strings.Repeat("k", 43),
		}, want: func(c *Config) {
			c.InternalToken, c.IAM.BootstrapAdminKey = testInternalToken, "kd_"+strings.Repeat("k", 43)
		}},
		{name: "chat visitor key from the environment", env: map[string]string{"KUBEDESK_CHAT_VISITOR_KEY": strings.Repeat("c", 32)},
			want: func(c *Config) { c.Channel.Chat.VisitorKey = strings.Repeat("c", 32) }},
		{name: "blob store from the environment (the operator's KUBEDESK_BLOB_URL)", env: map[string]string{
			"KUBEDESK_BLOB_URL": "s3://KEY:SECRET@acme-attachments/tickets?endpoint=minio.storage:9000",
		}, want: func(c *Config) {
			c.Ticket.BlobURL = "s3://KEY:SECRET@acme-attachments/tickets?endpoint=minio.storage:9000"
		}},
		{name: "blob store flag over the environment", args: []string{"--blob-url=file:///srv/blobs"},
			env:  map[string]string{"KUBEDESK_BLOB_URL": "s3://KEY:SECRET@acme-attachments"},
			want: func(c *Config) { c.Ticket.BlobURL = "file:///srv/blobs" }},
		{name: "env over file, flag over env", args: []string{"--config", file, "--temporal-namespace=flag"},
			env: map[string]string{"KUBEDESK_IDEMPOTENCY_KEY_TTL": "1h", "KUBEDESK_TEMPORAL_NAMESPACE": "env"},
			want: func(c *Config) {
				c.File = file
				c.Ticket.Matrix, c.Ticket.IdempotencyKeyTTL = matrix, config.Duration(time.Hour)
				c.Worker.Temporal.Address, c.Worker.Temporal.Namespace = "temporal:7233", "flag"
				c.Gateway.MaxRequestBytes = 2048
				c.IAM.RateLimit = auth.Rate{PerSecond: 5, Burst: 10}
				c.IAM.OIDC = oidc.Config{IssuerURL: "https://login.acme.example/realms/acme", Audience: "kubedesk", Tenant: "acme"}
				c.IAM.SignInCodeTTL = config.Duration(15 * time.Minute)
				c.Channel.SignInCodes.PerAddress = auth.Rate{PerSecond: 0.0014, Burst: 5}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseConfig(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			want := defaultConfig()
			tt.want(&want)
			if diff := cmp.Diff(want, *got, cmpopts.IgnoreFields(ticket.Config{}, "Now")); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseSectionErrors(t *testing.T) {
	dir := t.TempDir()
	badMatrix := filepath.Join(dir, "matrix.yaml")
	if err := os.WriteFile(badMatrix, []byte("apiVersion: kubedesk.io/v1alpha1\nkind: KubedeskConfig\nspec:\n  ticket: {priorityMatrix: [\"P1 P2\"]}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	chat := filepath.Join(dir, "chat.yaml")
	if err := os.WriteFile(chat, []byte("apiVersion: kubedesk.io/v1alpha1\nkind: KubedeskConfig\nspec:\n  channel: {chat: {maxMessageBytes: 100000, perVisitor: {perSecond: 0, burst: 1}}}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"short chat visitor key", []string{"--chat-visitor-key=hunter2"}, nil, "channel.chat.visitorKey: has 7 characters; accepted: at least 32, or empty to derive it from the internal token"},
		{"chat message limit", []string{"--config", chat}, nil, "channel.chat.maxMessageBytes: 100000; accepted: 1 to 65536"},
		{"chat rate", []string{"--config", chat}, nil, "channel.chat.perVisitor: {perSecond: 0, burst: 1}; accepted: perSecond > 0 and burst >= 1"},
		{"zero idempotency key TTL", []string{"--idempotency-key-ttl=0s"}, nil, "ticket.idempotencyKeyTTL: 0s is not positive; accepted: e.g. 24h"},
		{"bad idempotency key TTL", nil, map[string]string{"KUBEDESK_IDEMPOTENCY_KEY_TTL": "a day"}, `KUBEDESK_IDEMPOTENCY_KEY_TTL: "a day" is not a duration; accepted: e.g. 15s, 24h`},
		{"bad priority matrix", []string{"--config", badMatrix}, nil, "priorityMatrix: has 1 rows; accepted: 3 rows"},
		{"small request limit", []string{"--max-request-bytes=10"}, nil, "gateway.maxRequestBytes: 10 is too small; accepted: at least 1024"},
		{"bad temporal address", []string{"--temporal-address=temporal"}, nil, `worker.temporal.address: "temporal" is not host:port`},
		{"not an admin key", nil, map[string]string{"KUBEDESK_BOOTSTRAP_ADMIN_KEY": "hunter2"}, `iam.bootstrapAdminKey: is not an API key`},
		{"plain http issuer", []string{"--oidc-issuer-url=http://login.acme.example", "--oidc-audience=kubedesk"}, nil, `iam.oidc.issuerURL: "http://login.acme.example" is not https`},
		{"issuer without audience", []string{"--oidc-issuer-url=https://login.acme.example"}, nil, `iam.oidc.audience: required`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseConfig(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want one containing %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("the error shows the secret: %v", err)
			}
		})
	}
}
