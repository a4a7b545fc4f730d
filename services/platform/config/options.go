package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Option is one flag of `kubedesk serve`, bound to a field of the
// configuration. Its environment variable is its name upper-cased with -
// turned into _ and KUBEDESK_ in front (--http-addr is KUBEDESK_HTTP_ADDR).
type Option struct {
	Name, Usage string
	// Get formats the field's current value (for the usage's default).
	Get func() string
	// Set parses v into the field; its error says what is accepted.
	Set func(v string) error
}

// String is an option on a string field.
func String(name, usage string, p *string) Option {
	return Option{Name: name, Usage: usage,
		Get: func() string { return *p },
		Set: func(v string) error { *p = v; return nil }}
}

// Int64 is an option on a whole-number field.
func Int64(name, usage string, p *int64) Option {
	return Option{Name: name, Usage: usage,
		Get: func() string { return strconv.FormatInt(*p, 10) },
		Set: func(v string) error {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return fmt.Errorf("%q is not a whole number", v)
			}
			*p = n
			return nil
		}}
}

// DurationOf is an option on a Duration field.
func DurationOf(name, usage string, p *Duration) Option {
	return Option{Name: name, Usage: usage,
		Get: func() string { return time.Duration(*p).String() },
		Set: func(v string) error {
			d, err := time.ParseDuration(v)
			if err != nil {
				return fmt.Errorf("%q is not a duration; accepted: e.g. 15s, 24h", v)
			}
			*p = Duration(d)
			return nil
		}}
}

// Map is an option on a map of names to values, written
// name=value,name=value; the entries given are added to (and replace
// those of) the map from the file.
func Map(name, usage string, p *map[string]string) Option {
	return Option{Name: name, Usage: usage,
		Get: func() string {
			var parts []string
			for _, k := range slices.Sorted(maps.Keys(*p)) {
				parts = append(parts, k+"="+(*p)[k])
			}
			return strings.Join(parts, ",")
		},
		Set: func(v string) error {
			entries := map[string]string{}
			for part := range strings.SplitSeq(v, ",") {
				if part = strings.TrimSpace(part); part == "" {
					continue
				}
				k, val, ok := strings.Cut(part, "=")
				if !ok || k == "" || val == "" {
					return fmt.Errorf("%q is not name=value; accepted: e.g. ticket=ticket:9090,worker=worker:9090", part)
				}
				entries[k] = val
			}
			if *p == nil {
				*p = map[string]string{}
			}
			maps.Copy(*p, entries)
			return nil
		}}
}

// Configuration is the binary's whole configuration: a pointer to a struct
// that embeds Common and holds each module's section, with its defaults
// already set. Options binds every flag to a field of that same struct.
type Configuration interface {
	Options() []Option
	Validate() error
	// SetFile records the --config path, so the modules that own the
	// file's other documents can read them.
	SetFile(path string)
}

// SetFile records the --config path.
func (c *Common) SetFile(path string) { c.File = path }

// envPrefix prefixes the environment variables that set flags.
const envPrefix = "KUBEDESK_"

// EnvName is the environment variable of a flag.
func EnvName(flagName string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// Parse fills cfg from args, the environment (getenv) and the --config
// file, in increasing precedence: cfg's defaults, file, environment,
// flags. It then validates the result. flag.ErrHelp means -h was asked.
func Parse(name string, args []string, getenv func(string) string, stderr io.Writer, cfg Configuration) error {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "YAML configuration file: KubedeskConfig, HelpdeskTenant, SLAPolicy and RoutingRule documents (env KUBEDESK_CONFIG)")
	options := cfg.Options()
	given := map[string][]string{}
	for _, o := range options {
		usage := fmt.Sprintf("%s (env %s, default %q)", o.Usage, EnvName(o.Name), o.Get())
		fs.Func(o.Name, usage, func(v string) error {
			given[o.Name] = append(given[o.Name], v)
			return nil
		})
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected argument %q", name, fs.Arg(0))
	}

	path := *configPath
	if path == "" {
		path = getenv(envPrefix + "CONFIG")
	}
	if path != "" {
		if err := loadFile(path, cfg); err != nil {
			return err
		}
	}
	cfg.SetFile(path)
	var errs []error
	for _, o := range options {
		if vs, ok := given[o.Name]; ok {
			for _, v := range vs {
				if err := o.Set(v); err != nil {
					errs = append(errs, fmt.Errorf("--%s: %w", o.Name, err))
				}
			}
		} else if v := getenv(EnvName(o.Name)); v != "" {
			if err := o.Set(v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", EnvName(o.Name), err))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return cfg.Validate()
}

// strictJSON decodes data into v, refusing unknown fields.
func strictJSON(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	return nil
}
