package webhook

import (
	"cmp"
	"errors"
	"fmt"
	"time"

	"github.com/kubedesk/kubedesk/services/platform/config"
)

// Config is the webhooks' section of the channel module's configuration
// (channel.webhooks):
//
//	webhooks:
//	  timeout: 10s
//	  retry: {initial: 10s, max: 10m, window: 24h}
//	  secretRotationWindow: 24h
//	  refresh: 10s
//	  retention: 720h
//	  lanes: 16
//
// Zero fields take the defaults.
type Config struct {
	// Timeout bounds one attempt, from connecting to the end of the
	// answer.
	Timeout config.Duration `json:"timeout,omitempty"`
	// Retry spaces the attempts of a failing delivery.
	Retry RetryConfig `json:"retry,omitzero"`
	// SecretRotationWindow is how long a replaced secret keeps signing
	// beside the new one.
	SecretRotationWindow config.Duration `json:"secretRotationWindow,omitempty"`
	// Refresh is how often the webhooks are read again, for the changes
	// made through another replica (those made here apply at once).
	Refresh config.Duration `json:"refresh,omitempty"`
	// Retention is how long the deliveries done with stay in the log.
	Retention config.Duration `json:"retention,omitempty"`
	// Lanes is how many deliveries of one webhook are under way at once
	// (events of different tickets; those of one ticket go one after the
	// other).
	Lanes int `json:"lanes,omitempty"`
}

// RetryConfig is the back-off of a failing delivery: the first retry
// after about Initial, each next one after about twice the last (a random
// point between half and all of it, so that receivers coming back are not
// met by every sender at once), at most Max apart, for Window after the
// event (or after the replay that sent it again); then it is
// dead-lettered.
type RetryConfig struct {
	Initial config.Duration `json:"initial,omitempty"`
	Max     config.Duration `json:"max,omitempty"`
	Window  config.Duration `json:"window,omitempty"`
}

// The defaults.
const (
	DefaultTimeout              = 10 * time.Second
	DefaultRetryInitial         = 10 * time.Second
	DefaultRetryMax             = 10 * time.Minute
	DefaultRetryWindow          = 24 * time.Hour
	DefaultSecretRotationWindow = 24 * time.Hour
	DefaultRefresh              = 10 * time.Second
	DefaultRetention            = 30 * 24 * time.Hour
	DefaultLanes                = 16
	maxLanes                    = 256
)

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{}.withDefaults()
}

// withDefaults fills the zero fields.
func (c Config) withDefaults() Config {
	d := func(v config.Duration, def time.Duration) config.Duration { return cmp.Or(v, config.Duration(def)) }
	c.Timeout = d(c.Timeout, DefaultTimeout)
	c.Retry.Initial = d(c.Retry.Initial, DefaultRetryInitial)
	c.Retry.Max = d(c.Retry.Max, DefaultRetryMax)
	c.Retry.Window = d(c.Retry.Window, DefaultRetryWindow)
	c.SecretRotationWindow = d(c.SecretRotationWindow, DefaultSecretRotationWindow)
	c.Refresh = d(c.Refresh, DefaultRefresh)
	c.Retention = d(c.Retention, DefaultRetention)
	c.Lanes = cmp.Or(c.Lanes, DefaultLanes)
	return c
}

// Validate checks the section; errors name the field as
// channel.webhooks.<field>.
func (c Config) Validate() error {
	var errs []error
	for _, f := range []struct {
		name string
		v    config.Duration
	}{
		{"timeout", c.Timeout}, {"retry.initial", c.Retry.Initial}, {"retry.max", c.Retry.Max}, {"retry.window", c.Retry.Window},
		{"secretRotationWindow", c.SecretRotationWindow}, {"refresh", c.Refresh}, {"retention", c.Retention},
	} {
		if f.v < 0 {
			errs = append(errs, fmt.Errorf("channel.webhooks.%s: %s is negative; accepted: a positive duration such as 10s, or none for the default", f.name, time.Duration(f.v)))
		}
	}
	if c.Retry.Max > 0 && c.Retry.Initial > c.Retry.Max {
		errs = append(errs, fmt.Errorf("channel.webhooks.retry.initial: %s is more than retry.max (%s); accepted: at most retry.max", time.Duration(c.Retry.Initial), time.Duration(c.Retry.Max)))
	}
	if c.Lanes < 0 || c.Lanes > maxLanes {
		errs = append(errs, fmt.Errorf("channel.webhooks.lanes: %d; accepted: 1 to %d, or none for %d", c.Lanes, maxLanes, DefaultLanes))
	}
	return errors.Join(errs...)
}
