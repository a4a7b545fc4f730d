package sla

import (
	"strings"
	"testing"
)

func TestConfigValidate(t *testing.T) {
	with := func(edit func(*TemporalConfig)) Config {
		c := DefaultConfig()
		edit(&c.Temporal)
		return c
	}
	tests := []struct {
		name string
		cfg  Config
		want string // "" is valid
	}{
		{"defaults: an embedded server", DefaultConfig(), ""},
		{"an external server", with(func(t *TemporalConfig) { t.Address = "temporal-frontend:7233" }), ""},
		{"no clocks", with(func(t *TemporalConfig) { t.Address = TemporalNone }), ""},
		{"bad temporal address", with(func(t *TemporalConfig) { t.Address = "temporal" }),
			`worker.temporal.address: "temporal" is not host:port; accepted: e.g. "temporal-frontend:7233", empty for an embedded server, or "none"`},
		{"bad listen address", with(func(t *TemporalConfig) { t.ListenAddr = "7233" }),
			`worker.temporal.listenAddr: "7233" is not host:port`},
		{"listen address unused with an external server", with(func(t *TemporalConfig) { t.Address, t.ListenAddr = "t:7233", "7233" }), ""},
		{"bad temporal namespace", with(func(t *TemporalConfig) { t.Namespace = "a b" }),
			`worker.temporal.namespace: "a b" is not a namespace name`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate() = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}
