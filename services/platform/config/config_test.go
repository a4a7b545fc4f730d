package config

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// testConfig is a binary's configuration in small: the common settings
// and one module's section.
type testConfig struct {
	Common
	Mail mailSection `json:"mail,omitzero"`
}

type mailSection struct {
	Relay    string   `json:"relay,omitempty"`
	MaxBytes int64    `json:"maxBytes,omitempty"`
	Retry    Duration `json:"retry,omitempty"`
}

func (c *testConfig) Options() []Option {
	return append(c.Common.Options(),
		String("mail-relay", "relay", &c.Mail.Relay),
		Int64("mail-max-bytes", "largest message", &c.Mail.MaxBytes),
		DurationOf("mail-retry", "retry after", &c.Mail.Retry))
}

func (c *testConfig) Validate() error {
	if c.Mail.MaxBytes < 0 {
		return errors.Join(c.Common.Validate(), errors.New("mail.maxBytes: is negative"))
	}
	return c.Common.Validate()
}

func defaults() testConfig {
	return testConfig{Common: DefaultCommon(), Mail: mailSection{MaxBytes: 100, Retry: Duration(time.Minute)}}
}

func TestParse(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "kubedesk.yaml")
	if err := os.WriteFile(file, []byte(`# the laptop setup
apiVersion: kubedesk.io/v1alpha1
kind: KubedeskConfig
spec:
  httpAddr: ":8081"
  dataDir: /var/lib/kubedesk
  shutdownTimeout: 30s
  services: {ticket: "ticket:9090"}
  mail: {relay: "smtp.example:25", retry: 5m}
---
apiVersion: kubedesk.io/v1alpha1
kind: SLAPolicy
metadata: {name: other}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	fromFile := func(c *testConfig) {
		c.File = file
		c.HTTPAddr, c.DataDir, c.ShutdownTimeout = ":8081", "/var/lib/kubedesk", Duration(30*time.Second)
		c.Services = map[string]string{"ticket": "ticket:9090"}
		c.Mail.Relay, c.Mail.Retry = "smtp.example:25", Duration(5*time.Minute)
	}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want func(*testConfig)
	}{
		{name: "defaults", want: func(*testConfig) {}},
		{name: "flags", args: []string{"--target=ticket, worker", "--grpc-addr=127.0.0.1:9999", "--database-url=postgres://u@db/kd", "--mail-max-bytes=7"},
			env: map[string]string{"KUBEDESK_INTERNAL_TOKEN": testToken},
			want: func(c *testConfig) {
				c.Target, c.GRPCAddr, c.DatabaseURL, c.Mail.MaxBytes = "ticket, worker", "127.0.0.1:9999", "postgres://u@db/kd", 7
				c.InternalToken = testToken
			}},
		{name: "file", args: []string{"--config", file}, want: fromFile},
		{name: "env over file, flag over env", args: []string{"--config", file, "--http-addr=:8082"},
			env: map[string]string{"KUBEDESK_HTTP_ADDR": ":8083", "KUBEDESK_DATA_DIR": "/srv", "KUBEDESK_SHUTDOWN_TIMEOUT": "5s", "KUBEDESK_MAIL_RETRY": "1s"},
			want: func(c *testConfig) {
				fromFile(c)
				c.HTTPAddr, c.DataDir, c.ShutdownTimeout, c.Mail.Retry = ":8082", "/srv", Duration(5*time.Second), Duration(time.Second)
			}},
		{name: "config path from env", env: map[string]string{"KUBEDESK_CONFIG": file}, want: fromFile},
		{name: "services flag adds to the file's", args: []string{"--config", file, "--services=worker=worker:9090", "--services", "gateway=gw:9090"},
			want: func(c *testConfig) {
				fromFile(c)
				c.Services = map[string]string{"ticket": "ticket:9090", "worker": "worker:9090", "gateway": "gw:9090"}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := defaults()
			if err := Parse("serve", tt.args, func(k string) string { return tt.env[k] }, io.Discard, &got); err != nil {
				t.Fatal(err)
			}
			want := defaults()
			tt.want(&want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}
}

// testToken is an internal token long enough to be accepted.
const testToken = "kds_0123456789abcdef0123456789abcdef"

func TestTargets(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want []string
	}{
		{"all", []string{"all"}},
		{"ticket,worker", []string{"ticket", "worker"}},
		{"  ticket , gw ,", []string{"ticket", "gw"}},
		{"", nil},
	} {
		if got := (Common{Target: tt.in}).Targets(); !cmp.Equal(got, tt.want) {
			t.Errorf("Targets(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	unknown := write("unknown.yaml", "apiVersion: kubedesk.io/v1alpha1\nkind: KubedeskConfig\nspec:\n  httpAdr: \":1\"\n")
	unknownInSection := write("section.yaml", "apiVersion: kubedesk.io/v1alpha1\nkind: KubedeskConfig\nspec:\n  mail: {relai: x}\n")
	wrongKind := write("kind.yaml", "apiVersion: kubedesk.io/v1alpha1\nkind: KubedeskConfig\nspec: {}\n---\napiVersion: v1\nkind: Pod\n")
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"empty target", []string{"--target= , "}, nil, `target: is empty`},
		{"bad addr", []string{"--http-addr=8080"}, nil, `httpAddr: "8080" is not host:port`},
		{"bad service addr", []string{"--services=ticket=ticket"}, nil, `services.ticket: "ticket" is not host:port`},
		{"bad services flag", []string{"--services=ticket"}, nil, `--services: "ticket" is not name=value`},
		{"mysql", []string{"--database-url=mysql://x"}, nil, "databaseURL: is not a PostgreSQL URL"},
		{"bad tenant", []string{"--default-tenant=Acme Corp"}, nil, `defaultTenant: tenant "Acme Corp" is not valid`},
		{"bad env", nil, map[string]string{"KUBEDESK_MAIL_MAX_BYTES": "lots"}, `KUBEDESK_MAIL_MAX_BYTES: "lots" is not a whole number`},
		{"bad flag", []string{"--shutdown-timeout=soon"}, nil, `--shutdown-timeout: "soon" is not a duration`},
		{"section check", []string{"--mail-max-bytes=-1"}, nil, `mail.maxBytes: is negative`},
		{"unknown key", []string{"--config", unknown}, nil, `unknown field "httpAdr"`},
		{"unknown key in a section", []string{"--config", unknownInSection}, nil, `unknown field "relai"`},
		{"unknown kind", []string{"--config", wrongKind}, nil, `document 1: kind "Pod" (apiVersion "v1") is not supported; accepted: apiVersion kubedesk.io/v1alpha1 with kind KubedeskConfig, HelpdeskTenant, SLAPolicy, RoutingRule`},
		{"missing file", []string{"--config", filepath.Join(dir, "nope.yaml")}, nil, "no such file"},
		{"stray argument", []string{"extra"}, nil, `unexpected argument "extra"`},
		{"bad pprof address", []string{"--pprof-addr=6060"}, nil, `pprofAddr: "6060" is not host:port`},
		{"split without internal token", []string{"--target=ticket"}, nil, `internalToken: is required with --target=ticket`},
		{"short internal token", []string{"--internal-token=kds_short"}, nil, `internalToken: has 9 characters; accepted: at least 32`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := defaults()
			err := Parse("serve", tt.args, func(k string) string { return tt.env[k] }, io.Discard, &c)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}
