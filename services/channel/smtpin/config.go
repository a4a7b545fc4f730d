package smtpin

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"reflect"
	"strings"
	"time"

	"github.com/kubedesk/kubedesk/services/platform/config"
)

// Rate is a token bucket: Per events per second, Burst at once.
type Rate struct {
	Per   float64 `json:"perSecond"`
	Burst int     `json:"burst"`
}

// Config has JSON tags (it becomes part of the binary's YAML config, section channel.smtp).
// Durations are written as strings such as "60s", like config.Duration.
type Config struct {
	// Addr is the listen address; default ":2525".
	Addr string `json:"addr"`
	// Hostname is the greeting domain; default os.Hostname().
	Hostname string `json:"hostname"`
	// MaxMessageBytes is the largest message accepted; default 25 MiB; above -> 552 5.3.4.
	MaxMessageBytes int64 `json:"maxMessageBytes"`
	// MaxRecipients is the most RCPT TO per message; default 50; above -> 452 4.5.3.
	MaxRecipients int `json:"maxRecipients"`
	// ReadTimeout is how long one read from the client may wait (the
	// idle timeout between commands); default 60s.
	ReadTimeout time.Duration `json:"readTimeout"`
	// WriteTimeout is how long one reply may take to write; default 60s.
	WriteTimeout time.Duration `json:"writeTimeout"`
	// DataTimeout bounds one whole DATA transfer, so that a client
	// dripping a byte a minute cannot hold a connection; default 10m.
	DataTimeout time.Duration `json:"dataTimeout"`
	// BackendTimeout is the deadline of each Backend call; past it the
	// server answers 451 and the sender retries; default 60s.
	BackendTimeout time.Duration `json:"backendTimeout"`
	// MaxConnections caps the whole server's connections, default 500;
	// above: 421 4.7.0 and close.
	MaxConnections int `json:"maxConnections"`
	// PerIP limits one remote address (an IPv4 address, or an IPv6 /64).
	PerIP struct {
		Connections int  `json:"connections"` // concurrent per remote IP, default 20; above: 421 4.7.0 and close
		Messages    Rate `json:"messages"`    // messages accepted per IP, default {Per: 2, Burst: 60}; above: 451 4.7.1 with a Retry hint
	} `json:"perIP"`
	// TLSCertFile with TLSKeyFile (PEM files): STARTTLS is offered;
	// otherwise not.
	TLSCertFile string `json:"tlsCertFile"`
	TLSKeyFile  string `json:"tlsKeyFile"`
}

// Limits of the accepted ranges, as Validate reports them.
const (
	minMessageBytes = 1 << 10
	maxMessageBytes = 1 << 30
	maxRecipients   = 1000
	maxTimeout      = time.Hour
)

// DefaultConfig returns the defaults: :2525, 25 MiB, 50 recipients, 60 s
// timeouts, 500 connections, 20 per address, 2 messages a second per
// address with bursts of 60, no TLS.
func DefaultConfig() Config {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	c := Config{
		Addr:            ":2525",
		Hostname:        host,
		MaxMessageBytes: 25 << 20,
		MaxRecipients:   50,
		ReadTimeout:     60 * time.Second,
		WriteTimeout:    60 * time.Second,
		DataTimeout:     10 * time.Minute,
		BackendTimeout:  60 * time.Second,
		MaxConnections:  500,
	}
	c.PerIP.Connections = 20
	c.PerIP.Messages = Rate{Per: 2, Burst: 60}
	return c
}

// Validate names every bad field as channel.smtp.<field> and says what
// would be accepted.
func (c Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("channel.smtp."+field+": "+format, args...))
	}
	if err := config.HostPort(c.Addr); err != nil {
		bad("addr", "%v", err)
	}
	if !validHostname(c.Hostname) {
		bad("hostname", "%q is not a domain name; accepted: letters, digits, '-' and '.', e.g. \"mx.example.com\"", c.Hostname)
	}
	if c.MaxMessageBytes < minMessageBytes || c.MaxMessageBytes > maxMessageBytes {
		bad("maxMessageBytes", "%d is out of range; accepted: %d to %d (1 GiB), e.g. 26214400 (25 MiB)", c.MaxMessageBytes, minMessageBytes, maxMessageBytes)
	}
	if c.MaxRecipients < 1 || c.MaxRecipients > maxRecipients {
		bad("maxRecipients", "%d is out of range; accepted: 1 to %d, e.g. 50", c.MaxRecipients, maxRecipients)
	}
	for _, d := range c.durationFields() {
		if *d.v < time.Second || *d.v > maxTimeout {
			bad(d.name, "%s is out of range; accepted: 1s to 1h, e.g. \"60s\"", *d.v)
		}
	}
	if c.MaxConnections < 1 {
		bad("maxConnections", "%d is not positive; accepted: 1 or more, e.g. 500", c.MaxConnections)
	}
	if c.PerIP.Connections < 1 || (c.MaxConnections >= 1 && c.PerIP.Connections > c.MaxConnections) {
		bad("perIP.connections", "%d is out of range; accepted: 1 to maxConnections (%d), e.g. 20", c.PerIP.Connections, c.MaxConnections)
	}
	if r := c.PerIP.Messages; math.IsNaN(r.Per) || math.IsInf(r.Per, 0) || r.Per < 0 || (r.Per > 0 && (r.Burst < 1 || r.Burst > 1_000_000)) {
		bad("perIP.messages", "perSecond %g, burst %d; accepted: perSecond 0 (no limit), or perSecond > 0 with burst 1 to 1000000, e.g. {perSecond: 2, burst: 60}", r.Per, r.Burst)
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		field := "tlsKeyFile"
		if c.TLSCertFile == "" {
			field = "tlsCertFile"
		}
		bad(field, "is empty while the other of tlsCertFile and tlsKeyFile is set; accepted: both (STARTTLS offered) or neither")
	}
	return errors.Join(errs...)
}

// validHostname accepts a domain name fit for the greeting line.
func validHostname(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, r := range label {
			if (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9') && r != '-' && r != '_' {
				return false
			}
		}
	}
	return true
}

// plainConfig is Config without its JSON methods.
type plainConfig Config

// durationFields are Config's durations by JSON name.
func (c *Config) durationFields() []struct {
	name string
	v    *time.Duration
} {
	return []struct {
		name string
		v    *time.Duration
	}{{"readTimeout", &c.ReadTimeout}, {"writeTimeout", &c.WriteTimeout}, {"dataTimeout", &c.DataTimeout}, {"backendTimeout", &c.BackendTimeout}}
}

// MarshalJSON writes the durations as strings such as "60s", the way
// config.Duration does.
func (c Config) MarshalJSON() ([]byte, error) {
	type shadow struct {
		*plainConfig
		ReadTimeout    config.Duration `json:"readTimeout"`
		WriteTimeout   config.Duration `json:"writeTimeout"`
		DataTimeout    config.Duration `json:"dataTimeout"`
		BackendTimeout config.Duration `json:"backendTimeout"`
	}
	return json.Marshal(shadow{
		plainConfig:    (*plainConfig)(&c),
		ReadTimeout:    config.Duration(c.ReadTimeout),
		WriteTimeout:   config.Duration(c.WriteTimeout),
		DataTimeout:    config.Duration(c.DataTimeout),
		BackendTimeout: config.Duration(c.BackendTimeout),
	})
}

// UnmarshalJSON reads durations written as "60s" or "1m30s" (an error
// names the field); fields absent keep their values.
func (c *Config) UnmarshalJSON(b []byte) error {
	type shadow struct {
		*plainConfig
		ReadTimeout    json.RawMessage `json:"readTimeout"`
		WriteTimeout   json.RawMessage `json:"writeTimeout"`
		DataTimeout    json.RawMessage `json:"dataTimeout"`
		BackendTimeout json.RawMessage `json:"backendTimeout"`
	}
	s := shadow{plainConfig: (*plainConfig)(c)}
	if err := json.Unmarshal(b, &s); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return fmt.Errorf("channel.smtp.%s: a JSON %s is not accepted; accepted: %s", strings.TrimPrefix(te.Field, "plainConfig."), te.Value, jsonKind(te.Type.Kind()))
		}
		return fmt.Errorf("channel.smtp: %w", err)
	}
	raw := []json.RawMessage{s.ReadTimeout, s.WriteTimeout, s.DataTimeout, s.BackendTimeout}
	for i, f := range c.durationFields() {
		if len(raw[i]) == 0 {
			continue
		}
		var d config.Duration
		if err := d.UnmarshalJSON(raw[i]); err != nil {
			return fmt.Errorf("channel.smtp.%s: %w", f.name, err)
		}
		*f.v = time.Duration(d)
	}
	return nil
}

// jsonKind names what JSON a Go kind is read from.
func jsonKind(k reflect.Kind) string {
	switch k {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Float32, reflect.Float64:
		return "a number"
	default:
		return "a whole number"
	}
}
