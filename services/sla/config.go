package sla

import (
	"errors"
	"fmt"
	"net"
	"regexp"
)

// Config is the worker section of the binary's configuration: where the
// SLA clocks run.
type Config struct {
	Temporal TemporalConfig `json:"temporal,omitzero"`
}

// TemporalConfig locates the Temporal server of the SLA workflows.
type TemporalConfig struct {
	// Address is the Temporal frontend (host:port). Empty starts an
	// embedded Temporal server that keeps its state in the data
	// directory; "none" runs no SLA clocks.
	Address string `json:"address,omitempty"`
	// Namespace holds the workflows; the embedded server creates it, an
	// external cluster must have it.
	Namespace string `json:"namespace,omitempty"`
	// ListenAddr is where the embedded server's frontend listens (port 0:
	// any free port).
	ListenAddr string `json:"listenAddr,omitempty"`
}

// TemporalNone as Temporal.Address runs no SLA clocks.
const TemporalNone = "none"

// DefaultConfig returns the worker's defaults: an embedded server on
// loopback.
func DefaultConfig() Config {
	return Config{Temporal: TemporalConfig{Namespace: "kubedesk", ListenAddr: "127.0.0.1:7233"}}
}

var namespacePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9._-]{1,254}$`)

// Validate names each bad field.
func (c Config) Validate() error {
	var errs []error
	t := c.Temporal
	if a := t.Address; a != "" && a != TemporalNone {
		if _, _, err := net.SplitHostPort(a); err != nil {
			errs = append(errs, fmt.Errorf("worker.temporal.address: %q is not host:port; accepted: e.g. \"temporal-frontend:7233\", empty for an embedded server, or %q", a, TemporalNone))
		}
	}
	if t.Address == "" {
		if _, _, err := net.SplitHostPort(t.ListenAddr); err != nil {
			errs = append(errs, fmt.Errorf("worker.temporal.listenAddr: %q is not host:port; accepted: e.g. \"127.0.0.1:7233\"", t.ListenAddr))
		}
	}
	if !namespacePattern.MatchString(t.Namespace) {
		errs = append(errs, fmt.Errorf("worker.temporal.namespace: %q is not a namespace name; accepted: 2 to 255 letters, digits, '-', '_' and '.', starting with a letter", t.Namespace))
	}
	return errors.Join(errs...)
}
