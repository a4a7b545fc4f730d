// Package config is the kubedesk binary's configuration: a plain struct
// with defaults and validation, filled from a YAML file (--config), then
// KUBEDESK_* environment variables, then flags, later sources winning.
package config

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"sigs.k8s.io/yaml"
	yamlv3 "sigs.k8s.io/yaml/goyaml.v3"

	"github.com/kubedesk/kubedesk/services/platform/tenant"
	"github.com/kubedesk/kubedesk/services/ticket"
)

// Targets that `serve --target` accepts. "all" runs every other one in one
// process.
const (
	TargetAll     = "all"
	TargetGateway = "gateway"
	TargetTicket  = "ticket"
	TargetWorker  = "worker"
)

// Targets lists the accepted --target values.
var Targets = []string{TargetAll, TargetGateway, TargetTicket, TargetWorker}

// APIVersion and Kind identify the configuration document in a --config file.
const (
	APIVersion = "kubedesk.io/v1alpha1"
	Kind       = "KubedeskConfig"
)

// Config is everything `kubedesk serve` needs. Field names double as the
// YAML keys of the config file.
type Config struct {
	// Target selects the components to run; see Targets.
	Target string `json:"target,omitempty"`
	// HTTPAddr serves REST, /openapi.json, /metrics, /healthz and /readyz.
	HTTPAddr string `json:"httpAddr,omitempty"`
	// GRPCAddr serves the gRPC services of this process.
	GRPCAddr string `json:"grpcAddr,omitempty"`
	// DataDir holds embedded storage (SQLite files).
	DataDir string `json:"dataDir,omitempty"`
	// DatabaseURL selects PostgreSQL (postgres://...); empty means SQLite in DataDir.
	DatabaseURL string `json:"databaseURL,omitempty"`
	// TicketAddr is where the gateway dials the ticket service; empty means
	// this process's GRPCAddr.
	TicketAddr string `json:"ticketAddr,omitempty"`
	// WorkerAddr is where the gateway dials the worker (SLA policies);
	// empty means this process's GRPCAddr, and a gateway running alone
	// without it serves no SLA routes.
	WorkerAddr string `json:"workerAddr,omitempty"`
	// TemporalAddress is the Temporal frontend (host:port) the worker runs
	// SLA clocks on. Empty starts an embedded Temporal server that keeps
	// its state in DataDir; "none" runs no SLA clocks.
	TemporalAddress string `json:"temporalAddress,omitempty"`
	// TemporalNamespace is the Temporal namespace of the workflows; the
	// embedded server creates it, an external cluster must have it.
	TemporalNamespace string `json:"temporalNamespace,omitempty"`
	// TemporalListenAddr is where the embedded Temporal server's frontend
	// listens (port 0: any free port).
	TemporalListenAddr string `json:"temporalListenAddr,omitempty"`
	// DefaultTenant serves requests that name no tenant; empty makes the
	// X-Kubedesk-Tenant header mandatory.
	DefaultTenant string `json:"defaultTenant,omitempty"`
	// MaxRequestBytes limits REST request bodies (413 above it).
	MaxRequestBytes int64 `json:"maxRequestBytes,omitempty"`
	// ShutdownTimeout bounds the graceful shutdown.
	ShutdownTimeout Duration `json:"shutdownTimeout,omitempty"`
	// IdempotencyKeyTTL is how long the ticket service keeps idempotency
	// keys (ticket.Config.IdempotencyKeyTTL).
	IdempotencyKeyTTL Duration `json:"idempotencyKeyTTL,omitempty"`
	// PprofAddr serves Go's profiles (/debug/pprof/) on a listener of its
	// own, for operators; empty (the default) serves none.
	PprofAddr string `json:"pprofAddr,omitempty"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `json:"logLevel,omitempty"`
	// PriorityMatrix overrides the ITIL impact x urgency matrix: three rows
	// (impact high, medium, low) of three priorities (urgency high, medium,
	// low), e.g. ["P1 P2 P3", "P2 P3 P4", "P3 P4 P5"].
	PriorityMatrix []string `json:"priorityMatrix,omitempty"`

	// File is the --config file this configuration was read from, if any;
	// the services that own its other documents (SLAPolicy) read it too.
	File string `json:"-"`
}

// TemporalNone as TemporalAddress runs no SLA clocks.
const TemporalNone = "none"

var namespacePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9._-]{1,254}$`)

// Default returns the all-in-one defaults.
func Default() Config {
	return Config{
		Target:             TargetAll,
		HTTPAddr:           ":8080",
		GRPCAddr:           ":9090",
		DataDir:            "./data",
		DefaultTenant:      "default",
		MaxRequestBytes:    1 << 20,
		TemporalNamespace:  "kubedesk",
		TemporalListenAddr: "127.0.0.1:7233",
		ShutdownTimeout:    Duration(15 * time.Second),
		IdempotencyKeyTTL:  Duration(24 * time.Hour),
		LogLevel:           "info",
	}
}

// Duration is a time.Duration written as "15s" in YAML.
type Duration time.Duration

// MarshalJSON writes the duration as a string such as "15s".
func (d Duration) MarshalJSON() ([]byte, error) {
	return []byte(strconv.Quote(time.Duration(d).String())), nil
}

// UnmarshalJSON reads a duration string such as "15s" or "1m30s".
func (d *Duration) UnmarshalJSON(b []byte) error {
	s, err := strconv.Unquote(string(b))
	if err != nil {
		return fmt.Errorf("%s is not a duration string; accepted: e.g. \"15s\"", b)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration; accepted: e.g. \"15s\", \"1m30s\"", s)
	}
	*d = Duration(v)
	return nil
}

// Matrix returns the configured priority matrix (the default when unset).
func (c Config) Matrix() (ticket.Matrix, error) {
	if len(c.PriorityMatrix) == 0 {
		return ticket.DefaultMatrix, nil
	}
	return ticket.ParseMatrix(c.PriorityMatrix)
}

// Runs reports whether the target includes component.
func (c Config) Runs(component string) bool {
	return c.Target == TargetAll || c.Target == component
}

// Validate checks every field and names the first bad one.
func (c Config) Validate() error {
	var errs []error
	if !slices.Contains(Targets, c.Target) {
		errs = append(errs, fmt.Errorf("target: %q is not a target; accepted: %s", c.Target, strings.Join(Targets, ", ")))
	}
	for _, a := range []struct{ name, addr string }{{"httpAddr", c.HTTPAddr}, {"grpcAddr", c.GRPCAddr}} {
		if _, _, err := net.SplitHostPort(a.addr); err != nil {
			errs = append(errs, fmt.Errorf("%s: %q is not host:port; accepted: e.g. \":8080\" or \"127.0.0.1:8080\"", a.name, a.addr))
		}
	}
	for _, a := range []struct{ name, addr string }{{"ticketAddr", c.TicketAddr}, {"workerAddr", c.WorkerAddr}} {
		if a.addr == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(a.addr); err != nil {
			errs = append(errs, fmt.Errorf("%s: %q is not host:port; accepted: e.g. \"ticket:9090\"", a.name, a.addr))
		}
	}
	if c.Target == TargetWorker && c.TicketAddr == "" && c.TemporalAddress != TemporalNone {
		errs = append(errs, errors.New("ticketAddr: is required with --target=worker (the SLA clocks update tickets); set it to the ticket service's gRPC address"))
	}
	if c.Target == TargetGateway && c.TicketAddr == "" {
		errs = append(errs, errors.New("ticketAddr: is required with --target=gateway; set it to the ticket service's gRPC address"))
	}
	if c.DatabaseURL != "" && !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") {
		errs = append(errs, errors.New("databaseURL: is not a PostgreSQL URL; accepted: postgres://user:password@host:5432/db or empty for SQLite in dataDir"))
	}
	if c.DatabaseURL == "" && c.DataDir == "" {
		errs = append(errs, errors.New("dataDir: is required when databaseURL is empty (SQLite lives there)"))
	}
	if a := c.TemporalAddress; a != "" && a != TemporalNone {
		if _, _, err := net.SplitHostPort(a); err != nil {
			errs = append(errs, fmt.Errorf("temporalAddress: %q is not host:port; accepted: e.g. \"temporal-frontend:7233\", empty for an embedded server, or %q", a, TemporalNone))
		}
	}
	if c.TemporalAddress == "" {
		if _, _, err := net.SplitHostPort(c.TemporalListenAddr); err != nil {
			errs = append(errs, fmt.Errorf("temporalListenAddr: %q is not host:port; accepted: e.g. \"127.0.0.1:7233\"", c.TemporalListenAddr))
		}
	}
	if !namespacePattern.MatchString(c.TemporalNamespace) {
		errs = append(errs, fmt.Errorf("temporalNamespace: %q is not a namespace name; accepted: 2 to 255 letters, digits, '-', '_' and '.', starting with a letter", c.TemporalNamespace))
	}
	if c.PprofAddr != "" {
		if _, _, err := net.SplitHostPort(c.PprofAddr); err != nil {
			errs = append(errs, fmt.Errorf("pprofAddr: %q is not host:port; accepted: e.g. \"127.0.0.1:6060\", or empty for none", c.PprofAddr))
		}
	}
	if c.DefaultTenant != "" {
		if err := tenant.Validate(c.DefaultTenant); err != nil {
			errs = append(errs, fmt.Errorf("defaultTenant: %w", err))
		}
	}
	if c.MaxRequestBytes < 1024 {
		errs = append(errs, fmt.Errorf("maxRequestBytes: %d is too small; accepted: at least 1024", c.MaxRequestBytes))
	}
	if c.ShutdownTimeout <= 0 {
		errs = append(errs, fmt.Errorf("shutdownTimeout: %s is not positive", time.Duration(c.ShutdownTimeout)))
	}
	if c.IdempotencyKeyTTL <= 0 {
		errs = append(errs, fmt.Errorf("idempotencyKeyTTL: %s is not positive; accepted: e.g. 24h", time.Duration(c.IdempotencyKeyTTL)))
	}
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, c.LogLevel) {
		errs = append(errs, fmt.Errorf("logLevel: %q is not a level; accepted: debug, info, warn, error", c.LogLevel))
	}
	if _, err := c.Matrix(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// document is one YAML document of a --config file.
type document struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Spec       Config `json:"spec"`
}

// Document is one YAML document of a --config file.
type Document struct {
	Index      int    // position in the file, from 0
	APIVersion string // e.g. kubedesk.io/v1alpha1
	Kind       string // e.g. KubedeskConfig, SLAPolicy
	YAML       []byte // the document alone
}

// Kinds lists the document kinds a --config file may hold: this package
// reads KubedeskConfig; the services that own the others read theirs.
var Kinds = []string{Kind, "SLAPolicy"}

// ReadDocuments returns the documents of a YAML file (several may be
// separated by ---), refusing kinds not in Kinds.
func ReadDocuments(path string) ([]Document, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	raw, err := splitDocuments(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	docs := make([]Document, 0, len(raw))
	for i, doc := range raw {
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		}
		if err := yaml.Unmarshal(doc, &head); err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", path, i, err)
		}
		if head.APIVersion != APIVersion || !slices.Contains(Kinds, head.Kind) {
			return nil, fmt.Errorf("%s: document %d: kind %q (apiVersion %q) is not supported; accepted: apiVersion %s with kind %s",
				path, i, head.Kind, head.APIVersion, APIVersion, strings.Join(Kinds, " or "))
		}
		docs = append(docs, Document{Index: i, APIVersion: head.APIVersion, Kind: head.Kind, YAML: doc})
	}
	return docs, nil
}

// LoadFile merges the KubedeskConfig documents of a YAML file into c.
// Unknown keys are errors.
func (c *Config) LoadFile(path string) error {
	docs, err := ReadDocuments(path)
	if err != nil {
		return err
	}
	for _, doc := range docs {
		if doc.Kind != Kind {
			continue
		}
		d := document{Spec: *c}
		if err := yaml.UnmarshalStrict(doc.YAML, &d); err != nil {
			return fmt.Errorf("%s: document %d: %w", path, doc.Index, err)
		}
		*c = d.Spec
	}
	return nil
}

// splitDocuments returns each non-empty document of a YAML stream.
func splitDocuments(data []byte) ([][]byte, error) {
	var docs [][]byte
	dec := yamlv3.NewDecoder(bytes.NewReader(data))
	for i := 0; ; i++ {
		var n yamlv3.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		if len(n.Content) == 0 {
			continue
		}
		b, err := yamlv3.Marshal(&n)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		docs = append(docs, b)
	}
}

// envPrefix prefixes the environment variables that set flags:
// --http-addr is KUBEDESK_HTTP_ADDR.
const envPrefix = "KUBEDESK_"

// option is one flag of `serve`: its environment variable is its name
// upper-cased with - turned into _ and KUBEDESK_ in front (--http-addr is
// KUBEDESK_HTTP_ADDR).
type option struct {
	name, usage string
	get         func(*Config) string
	set         func(*Config, string) error
}

// text is an option on a string field.
func text(name, usage string, field func(*Config) *string) option {
	return option{name: name, usage: usage,
		get: func(c *Config) string { return *field(c) },
		set: func(c *Config, v string) error { *field(c) = v; return nil }}
}

var options = []option{
	text("target", "components to run: "+strings.Join(Targets, ", "), func(c *Config) *string { return &c.Target }),
	text("http-addr", "HTTP listen address (REST, /metrics, /healthz, /readyz)", func(c *Config) *string { return &c.HTTPAddr }),
	text("grpc-addr", "gRPC listen address", func(c *Config) *string { return &c.GRPCAddr }),
	text("data-dir", "directory for embedded storage", func(c *Config) *string { return &c.DataDir }),
	text("database-url", "PostgreSQL URL; empty means SQLite in --data-dir", func(c *Config) *string { return &c.DatabaseURL }),
	text("ticket-addr", "gRPC address of the ticket service (gateway); empty means --grpc-addr", func(c *Config) *string { return &c.TicketAddr }),
	text("worker-addr", "gRPC address of the worker (gateway: SLA policies); empty means --grpc-addr", func(c *Config) *string { return &c.WorkerAddr }),
	text("default-tenant", "tenant of requests without X-Kubedesk-Tenant; empty requires the header", func(c *Config) *string { return &c.DefaultTenant }),
	text("temporal-address", "Temporal frontend host:port for SLA clocks; empty starts an embedded server in --data-dir, \"none\" runs no clocks", func(c *Config) *string { return &c.TemporalAddress }),
	text("temporal-namespace", "Temporal namespace of the SLA workflows", func(c *Config) *string { return &c.TemporalNamespace }),
	text("temporal-listen-addr", "listen address of the embedded Temporal server", func(c *Config) *string { return &c.TemporalListenAddr }),
	text("pprof-addr", "listen address for /debug/pprof (Go profiles); empty serves none", func(c *Config) *string { return &c.PprofAddr }),
	text("log-level", "debug, info, warn or error", func(c *Config) *string { return &c.LogLevel }),
	{name: "max-request-bytes", usage: "largest accepted REST request body",
		get: func(c *Config) string { return strconv.FormatInt(c.MaxRequestBytes, 10) },
		set: func(c *Config, v string) error {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return fmt.Errorf("%q is not a whole number of bytes", v)
			}
			c.MaxRequestBytes = n
			return nil
		}},
	{name: "shutdown-timeout", usage: "graceful shutdown bound",
		get: func(c *Config) string { return time.Duration(c.ShutdownTimeout).String() },
		set: func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil {
				return fmt.Errorf("%q is not a duration; accepted: e.g. 15s", v)
			}
			c.ShutdownTimeout = Duration(d)
			return nil
		}},
	{name: "idempotency-key-ttl", usage: "how long the ticket service keeps idempotency keys",
		get: func(c *Config) string { return time.Duration(c.IdempotencyKeyTTL).String() },
		set: func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil {
				return fmt.Errorf("%q is not a duration; accepted: e.g. 24h", v)
			}
			c.IdempotencyKeyTTL = Duration(d)
			return nil
		}},
}

func envName(flagName string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// Parse builds the configuration for `serve` from args, the environment
// (getenv) and the --config file, in increasing precedence: defaults, file,
// environment, flags.
func Parse(args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "YAML configuration file (env KUBEDESK_CONFIG)")
	defaults := Default()
	given := map[string]string{}
	for _, o := range options {
		usage := fmt.Sprintf("%s (env %s, default %q)", o.usage, envName(o.name), o.get(&defaults))
		fs.Func(o.name, usage, func(v string) error {
			// Check the value now, so a bad flag fails with the usage.
			if err := o.set(&Config{}, v); err != nil {
				return err
			}
			given[o.name] = v
			return nil
		})
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("serve: unexpected argument %q", fs.Arg(0))
	}

	path := *configPath
	if path == "" {
		path = getenv(envPrefix + "CONFIG")
	}
	c := Default()
	if path != "" {
		if err := c.LoadFile(path); err != nil {
			return Config{}, err
		}
	}
	c.File = path
	var errs []error
	for _, o := range options {
		if v, ok := given[o.name]; ok {
			errs = append(errs, o.set(&c, v))
		} else if v := getenv(envName(o.name)); v != "" {
			if err := o.set(&c, v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", envName(o.name), err))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, err
	}
	return c, c.Validate()
}
