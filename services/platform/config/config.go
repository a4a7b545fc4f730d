// Package config reads the kubedesk binary's configuration: a plain struct
// with defaults and validation, filled from a YAML file (--config), then
// KUBEDESK_* environment variables, then flags, later sources winning.
//
// The package knows the settings every process has (Common: listeners,
// storage, the targets to run, where peer services are) and how to fill a
// configuration from the three sources. Each service keeps its own section
// (ticket, worker, gateway, ...) in its own package; the binary puts the
// sections side by side in one struct (services/cmd/kubedesk), so this
// package imports no service.
package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"sigs.k8s.io/yaml"
	yamlv3 "sigs.k8s.io/yaml/goyaml.v3"

	"github.com/kubedesk/kubedesk/services/platform/tenant"
)

// APIVersion and Kind identify the configuration document in a --config file.
const (
	APIVersion = "kubedesk.io/v1alpha1"
	Kind       = "KubedeskConfig"
)

// TargetAll selects every module of the binary.
const TargetAll = "all"

// MinInternalToken is the shortest internal token accepted.
const MinInternalToken = 32

// Common holds the settings of every kubedesk process, whatever it runs.
// Field names double as the YAML keys of the config file.
type Common struct {
	// Target selects the modules to run: "all", or a comma-separated
	// list such as "ticket,worker". A module's dependencies run with it.
	Target string `json:"target,omitempty"`
	// HTTPAddr serves REST, /openapi.json, /metrics, /healthz and /readyz.
	HTTPAddr string `json:"httpAddr,omitempty"`
	// GRPCAddr serves the gRPC services of this process.
	GRPCAddr string `json:"grpcAddr,omitempty"`
	// DataDir holds embedded storage (SQLite files, the embedded Temporal
	// server's database).
	DataDir string `json:"dataDir,omitempty"`
	// DatabaseURL selects PostgreSQL (postgres://...); empty means SQLite in DataDir.
	DatabaseURL string `json:"databaseURL,omitempty"`
	// Services maps a module name to the gRPC address (host:port) where
	// another process runs it. A module this process runs itself is
	// reached on this process's own listener, so the all-in-one needs no
	// entry.
	Services map[string]string `json:"services,omitempty"`
	// DefaultTenant is the tenant of sign-ins that name none, and the
	// one the first start's admin key belongs to.
	DefaultTenant string `json:"defaultTenant,omitempty"`
	// InternalToken is the secret kubedesk's modules present to each
	// other. Every process of a split deployment needs the same one
	// (KUBEDESK_INTERNAL_TOKEN, from a Secret); the all-in-one makes one
	// up when it is empty.
	InternalToken string `json:"internalToken,omitempty"`
	// ShutdownTimeout bounds the graceful shutdown.
	ShutdownTimeout Duration `json:"shutdownTimeout,omitempty"`
	// PprofAddr serves Go's profiles (/debug/pprof/) on a listener of its
	// own, for operators; empty (the default) serves none.
	PprofAddr string `json:"pprofAddr,omitempty"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `json:"logLevel,omitempty"`

	// File is the --config file this configuration was read from, if any;
	// the modules that own its other documents (SLAPolicy, HelpdeskTenant)
	// read it too.
	File string `json:"-"`
}

// DefaultCommon returns the all-in-one defaults.
func DefaultCommon() Common {
	return Common{
		Target:          TargetAll,
		HTTPAddr:        ":8080",
		GRPCAddr:        ":9090",
		DataDir:         "./data",
		DefaultTenant:   "default",
		ShutdownTimeout: Duration(15 * time.Second),
		LogLevel:        "info",
	}
}

// Targets returns the --target list, trimmed, in the order given.
func (c Common) Targets() []string {
	var out []string
	for t := range strings.SplitSeq(c.Target, ",") {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// Options are the flags of the common settings.
func (c *Common) Options() []Option {
	return []Option{
		String("target", `modules to run: "all" or a comma-separated list such as "ticket,worker"`, &c.Target),
		String("http-addr", "HTTP listen address (REST, /metrics, /healthz, /readyz)", &c.HTTPAddr),
		String("grpc-addr", "gRPC listen address", &c.GRPCAddr),
		String("data-dir", "directory for embedded storage", &c.DataDir),
		String("database-url", "PostgreSQL URL; empty means SQLite in --data-dir", &c.DatabaseURL),
		Map("services", "gRPC addresses of modules other processes run, e.g. ticket=ticket:9090,worker=worker:9090", &c.Services),
		String("default-tenant", "tenant of sign-ins without X-Kubedesk-Tenant, and of the first admin key", &c.DefaultTenant),
		String("internal-token", "secret the modules present to each other; the same in every process of a split deployment (prefer KUBEDESK_INTERNAL_TOKEN)", &c.InternalToken),
		String("pprof-addr", "listen address for /debug/pprof (Go profiles); empty serves none", &c.PprofAddr),
		String("log-level", "debug, info, warn or error", &c.LogLevel),
		DurationOf("shutdown-timeout", "graceful shutdown bound", &c.ShutdownTimeout),
	}
}

// Validate checks the common settings, naming each bad field. Which
// targets and services exist is the binary's to check (it has the module
// table).
func (c Common) Validate() error {
	var errs []error
	if len(c.Targets()) == 0 {
		errs = append(errs, errors.New(`target: is empty; accepted: "all" or a comma-separated list of modules`))
	}
	for _, a := range []struct{ name, addr string }{{"httpAddr", c.HTTPAddr}, {"grpcAddr", c.GRPCAddr}} {
		if err := HostPort(a.addr); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", a.name, err))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(c.Services)) {
		if err := HostPort(c.Services[name]); err != nil {
			errs = append(errs, fmt.Errorf("services.%s: %w", name, err))
		}
	}
	if c.DatabaseURL != "" && !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") {
		errs = append(errs, errors.New("databaseURL: is not a PostgreSQL URL; accepted: postgres://user:password@host:5432/db or empty for SQLite in dataDir"))
	}
	if c.DatabaseURL == "" && c.DataDir == "" {
		errs = append(errs, errors.New("dataDir: is required when databaseURL is empty (SQLite lives there)"))
	}
	if c.PprofAddr != "" {
		if err := HostPort(c.PprofAddr); err != nil {
			errs = append(errs, fmt.Errorf("pprofAddr: %w, or empty for none", err))
		}
	}
	if c.DefaultTenant != "" {
		if err := tenant.Validate(c.DefaultTenant); err != nil {
			errs = append(errs, fmt.Errorf("defaultTenant: %w", err))
		}
	}
	switch {
	case c.InternalToken == "" && !slices.Equal(c.Targets(), []string{TargetAll}):
		errs = append(errs, fmt.Errorf("internalToken: is required with --target=%s: the processes of a split deployment call each other with it; accepted: one secret of at least %d characters, the same in every process (KUBEDESK_INTERNAL_TOKEN)", c.Target, MinInternalToken))
	case c.InternalToken != "" && len(c.InternalToken) < MinInternalToken:
		// The token itself is never echoed.
		errs = append(errs, fmt.Errorf("internalToken: has %d characters; accepted: at least %d", len(c.InternalToken), MinInternalToken))
	}
	if c.ShutdownTimeout <= 0 {
		errs = append(errs, fmt.Errorf("shutdownTimeout: %s is not positive", time.Duration(c.ShutdownTimeout)))
	}
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, c.LogLevel) {
		errs = append(errs, fmt.Errorf("logLevel: %q is not a level; accepted: debug, info, warn, error", c.LogLevel))
	}
	return errors.Join(errs...)
}

// HostPort checks a listen or dial address.
func HostPort(addr string) error {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return fmt.Errorf("%q is not host:port; accepted: e.g. \":9090\", \"127.0.0.1:9090\" or \"ticket:9090\"", addr)
	}
	return nil
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

// Document is one YAML document of a --config file.
type Document struct {
	Index      int    // position in the file, from 0
	APIVersion string // e.g. kubedesk.io/v1alpha1
	Kind       string // e.g. KubedeskConfig, SLAPolicy, HelpdeskTenant
	YAML       []byte // the document alone
}

// Kinds lists the document kinds a --config file may hold: this package
// reads KubedeskConfig; the modules that own the others read theirs.
var Kinds = []string{Kind, "HelpdeskTenant", "SLAPolicy", "RoutingRule"}

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
				path, i, head.Kind, head.APIVersion, APIVersion, strings.Join(Kinds, ", "))
		}
		docs = append(docs, Document{Index: i, APIVersion: head.APIVersion, Kind: head.Kind, YAML: doc})
	}
	return docs, nil
}

// loadFile merges the KubedeskConfig documents of a YAML file into cfg, a
// pointer to the binary's configuration struct. Unknown keys are errors.
func loadFile(path string, cfg any) error {
	docs, err := ReadDocuments(path)
	if err != nil {
		return err
	}
	for _, doc := range docs {
		if doc.Kind != Kind {
			continue
		}
		var d struct {
			APIVersion string          `json:"apiVersion"`
			Kind       string          `json:"kind"`
			Spec       json.RawMessage `json:"spec"`
		}
		if err := yaml.UnmarshalStrict(doc.YAML, &d); err != nil {
			return fmt.Errorf("%s: document %d: %w", path, doc.Index, err)
		}
		if len(d.Spec) == 0 || string(d.Spec) == "null" {
			continue
		}
		if err := strictJSON(d.Spec, cfg); err != nil {
			return fmt.Errorf("%s: document %d: spec: %w", path, doc.Index, err)
		}
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
