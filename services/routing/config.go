package routing

import (
	"errors"
	"fmt"
	"time"

	"github.com/kubedesk/kubedesk/services/platform/config"
)

// Config is the routing section of the binary's configuration.
type Config struct {
	// OfflineGrace is how long an agent who went offline keeps the
	// tickets it has not answered before they return to their queues.
	OfflineGrace config.Duration `json:"offlineGrace,omitempty"`
	// SweepInterval is how often the queues, overflow waits, lapsed
	// heartbeats and offline agents are looked at (besides the prompt
	// look when an agent comes online or a ticket is solved).
	SweepInterval config.Duration `json:"sweepInterval,omitempty"`
}

// DefaultConfig returns the routing defaults: ten minutes' grace, a sweep
// every five seconds.
func DefaultConfig() Config {
	return Config{OfflineGrace: config.Duration(10 * time.Minute), SweepInterval: config.Duration(5 * time.Second)}
}

// Validate names each bad field.
func (c Config) Validate() error {
	var errs []error
	if g := time.Duration(c.OfflineGrace); g < 0 || g > 24*time.Hour {
		errs = append(errs, fmt.Errorf("routing.offlineGrace: %s is out of range; accepted: 0s to 24h", g))
	}
	if s := time.Duration(c.SweepInterval); s < 100*time.Millisecond || s > 10*time.Minute {
		errs = append(errs, fmt.Errorf("routing.sweepInterval: %s is out of range; accepted: 100ms to 10m", s))
	}
	return errors.Join(errs...)
}
