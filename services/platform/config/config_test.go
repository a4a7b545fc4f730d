package config

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

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
  priorityMatrix: ["P1 P1 P2", "P2 P3 P4", "P3 P4 P5"]
`), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want func(*Config)
	}{
		{name: "defaults", want: func(*Config) {}},
		{name: "flags", args: []string{"--target=ticket", "--grpc-addr=127.0.0.1:9999", "--database-url=postgres://u@db/kd"},
			want: func(c *Config) {
				c.Target, c.GRPCAddr, c.DatabaseURL = "ticket", "127.0.0.1:9999", "postgres://u@db/kd"
			}},
		{name: "file", args: []string{"--config", file}, want: func(c *Config) {
			c.File = file
			c.HTTPAddr, c.DataDir, c.ShutdownTimeout = ":8081", "/var/lib/kubedesk", Duration(30*time.Second)
			c.PriorityMatrix = []string{"P1 P1 P2", "P2 P3 P4", "P3 P4 P5"}
		}},
		{name: "env over file, flag over env", args: []string{"--config", file, "--http-addr=:8082"},
			env: map[string]string{"KUBEDESK_HTTP_ADDR": ":8083", "KUBEDESK_DATA_DIR": "/srv", "KUBEDESK_SHUTDOWN_TIMEOUT": "5s"},
			want: func(c *Config) {
				c.File = file
				c.HTTPAddr, c.DataDir, c.ShutdownTimeout = ":8082", "/srv", Duration(5*time.Second)
				c.PriorityMatrix = []string{"P1 P1 P2", "P2 P3 P4", "P3 P4 P5"}
			}},
		{name: "config path from env", env: map[string]string{"KUBEDESK_CONFIG": file}, want: func(c *Config) {
			c.File = file
			c.HTTPAddr, c.DataDir, c.ShutdownTimeout = ":8081", "/var/lib/kubedesk", Duration(30*time.Second)
			c.PriorityMatrix = []string{"P1 P1 P2", "P2 P3 P4", "P3 P4 P5"}
		}},
		{name: "idempotency key TTL", args: []string{"--idempotency-key-ttl=72h"},
			want: func(c *Config) { c.IdempotencyKeyTTL = Duration(72 * time.Hour) }},
		{name: "gateway alone", args: []string{"--target=gateway", "--ticket-addr=ticket:9090"},
			want: func(c *Config) { c.Target, c.TicketAddr = "gateway", "ticket:9090" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			want := Default()
			tt.want(&want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
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
	wrongKind := write("kind.yaml", "apiVersion: kubedesk.io/v1alpha1\nkind: KubedeskConfig\nspec: {}\n---\napiVersion: v1\nkind: Pod\n")
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"bad target", []string{"--target=everything"}, nil, `target: "everything" is not a target; accepted: all, gateway, ticket, worker`},
		{"bad addr", []string{"--http-addr=8080"}, nil, `httpAddr: "8080" is not host:port`},
		{"gateway without ticket", []string{"--target=gateway"}, nil, "ticketAddr: is required with --target=gateway"},
		{"mysql", []string{"--database-url=mysql://x"}, nil, "databaseURL: is not a PostgreSQL URL"},
		{"bad tenant", []string{"--default-tenant=Acme Corp"}, nil, `defaultTenant: tenant "Acme Corp" is not valid`},
		{"bad env", nil, map[string]string{"KUBEDESK_MAX_REQUEST_BYTES": "lots"}, `KUBEDESK_MAX_REQUEST_BYTES: "lots" is not a whole number`},
		{"unknown key", []string{"--config", unknown}, nil, `unknown field "httpAdr"`},
		{"unknown kind", []string{"--config", wrongKind}, nil, `document 1: kind "Pod" (apiVersion "v1") is not supported; accepted: apiVersion kubedesk.io/v1alpha1 with kind KubedeskConfig or SLAPolicy`},
		{"missing file", []string{"--config", filepath.Join(dir, "nope.yaml")}, nil, "no such file"},
		{"stray argument", []string{"extra"}, nil, `unexpected argument "extra"`},
		{"bad temporal address", []string{"--temporal-address=temporal"}, nil, `temporalAddress: "temporal" is not host:port`},
		{"bad temporal namespace", []string{"--temporal-namespace=a b"}, nil, `temporalNamespace: "a b" is not a namespace name`},
		{"worker without ticket", []string{"--target=worker"}, nil, "ticketAddr: is required with --target=worker"},
		{"zero idempotency key TTL", []string{"--idempotency-key-ttl=0s"}, nil, "idempotencyKeyTTL: 0s is not positive; accepted: e.g. 24h"},
		{"bad idempotency key TTL", nil, map[string]string{"KUBEDESK_IDEMPOTENCY_KEY_TTL": "a day"}, `KUBEDESK_IDEMPOTENCY_KEY_TTL: "a day" is not a duration; accepted: e.g. 24h`},
		{"bad pprof address", []string{"--pprof-addr=6060"}, nil, `pprofAddr: "6060" is not host:port`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}
