package smtpin

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestDefaultConfig(t *testing.T) {
	c := DefaultConfig()
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults do not validate: %v", err)
	}
	if c.Addr != ":2525" || c.MaxMessageBytes != 25<<20 || c.MaxRecipients != 50 || c.ReadTimeout != time.Minute ||
		c.MaxConnections != 500 || c.PerIP.Connections != 20 || c.PerIP.Messages != (Rate{Per: 2, Burst: 60}) || c.Hostname == "" {
		t.Errorf("defaults %+v", c)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"addr", func(c *Config) { c.Addr = "2525" }, `channel.smtp.addr: "2525" is not host:port; accepted: e.g. ":9090", "127.0.0.1:9090" or "ticket:9090"`},
		{"hostname", func(c *Config) { c.Hostname = "mx example\r\n" }, `channel.smtp.hostname: "mx example\r\n" is not a domain name; accepted: letters, digits, '-' and '.', e.g. "mx.example.com"`},
		{"maxMessageBytes", func(c *Config) { c.MaxMessageBytes = 10 }, "channel.smtp.maxMessageBytes: 10 is out of range; accepted: 1024 to 1073741824 (1 GiB), e.g. 26214400 (25 MiB)"},
		{"maxRecipients", func(c *Config) { c.MaxRecipients = 0 }, "channel.smtp.maxRecipients: 0 is out of range; accepted: 1 to 1000, e.g. 50"},
		{"readTimeout", func(c *Config) { c.ReadTimeout = 0 }, `channel.smtp.readTimeout: 0s is out of range; accepted: 1s to 1h, e.g. "60s"`},
		{"backendTimeout", func(c *Config) { c.BackendTimeout = 2 * time.Hour }, `channel.smtp.backendTimeout: 2h0m0s is out of range; accepted: 1s to 1h, e.g. "60s"`},
		{"maxConnections", func(c *Config) { c.MaxConnections = -1 }, "channel.smtp.maxConnections: -1 is not positive; accepted: 1 or more, e.g. 500"},
		{"perIP.connections", func(c *Config) { c.PerIP.Connections = 501 }, "channel.smtp.perIP.connections: 501 is out of range; accepted: 1 to maxConnections (500), e.g. 20"},
		{"perIP.messages", func(c *Config) { c.PerIP.Messages = Rate{Per: 1, Burst: 0} }, "channel.smtp.perIP.messages: perSecond 1, burst 0; accepted: perSecond 0 (no limit), or perSecond > 0 with burst 1 to 1000000, e.g. {perSecond: 2, burst: 60}"},
		{"tlsKeyFile", func(c *Config) { c.TLSCertFile = "tls.crt" }, "channel.smtp.tlsKeyFile: is empty while the other of tlsCertFile and tlsKeyFile is set; accepted: both (STARTTLS offered) or neither"},
		{"no rate limit is fine", func(c *Config) { c.PerIP.Messages = Rate{} }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.change(&c)
			err := c.Validate()
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("Validate() = %q\nwant %q", got, tt.want)
			}
		})
	}
	t.Run("every bad field", func(t *testing.T) {
		c := Config{}
		err := c.Validate()
		if err == nil || len(strings.Split(err.Error(), "\n")) != 10 {
			t.Errorf("Validate() of the zero Config = %v, want 10 errors", err)
		}
	})
}

func TestConfigJSON(t *testing.T) {
	c := DefaultConfig()
	in := `{"addr":"127.0.0.1:25","readTimeout":"1m30s","backendTimeout":"5s","perIP":{"connections":3,"messages":{"perSecond":0.5,"burst":10}},"tlsCertFile":"/tls/tls.crt","tlsKeyFile":"/tls/tls.key"}`
	if err := json.Unmarshal([]byte(in), &c); err != nil {
		t.Fatal(err)
	}
	want := DefaultConfig()
	want.Addr, want.ReadTimeout, want.BackendTimeout = "127.0.0.1:25", 90*time.Second, 5*time.Second
	want.PerIP.Connections, want.PerIP.Messages = 3, Rate{Per: 0.5, Burst: 10}
	want.TLSCertFile, want.TLSKeyFile = "/tls/tls.crt", "/tls/tls.key"
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("decoded (-want +got):\n%s", diff)
	}

	out, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{`"readTimeout":"1m30s"`, `"writeTimeout":"1m0s"`, `"dataTimeout":"10m0s"`, `"backendTimeout":"5s"`, `"perIP":{"connections":3,"messages":{"perSecond":0.5,"burst":10}}`} {
		if !strings.Contains(string(out), s) {
			t.Errorf("encoded %s, want it to hold %s", out, s)
		}
	}
	var back Config
	if err := json.Unmarshal(out, &back); err != nil || !cmp.Equal(c, back) {
		t.Errorf("round trip: %v\n%s", err, cmp.Diff(c, back))
	}

	for _, tt := range []struct{ in, want string }{
		{`{"readTimeout":"soon"}`, `channel.smtp.readTimeout: "soon" is not a duration; accepted: e.g. "15s", "1m30s"`},
		{`{"dataTimeout":600}`, `channel.smtp.dataTimeout: 600 is not a duration string; accepted: e.g. "15s"`},
		{`{"maxRecipients":"many"}`, `channel.smtp.maxRecipients: a JSON string is not accepted; accepted: a whole number`},
		{`{"perIP":{"messages":{"perSecond":"fast"}}}`, `channel.smtp.perIP.messages.perSecond: a JSON string is not accepted; accepted: a number`},
	} {
		c := DefaultConfig()
		if err := json.Unmarshal([]byte(tt.in), &c); err == nil || err.Error() != tt.want {
			t.Errorf("Unmarshal(%s) = %v\nwant %s", tt.in, err, tt.want)
		}
	}
}
