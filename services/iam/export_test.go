package iam

import (
	"context"
	"time"
)

// Sweep runs one round of RunJanitor's work.
func (s *Server) Sweep(ctx context.Context) { s.sweep(ctx) }

// SetJanitorEvery shortens RunJanitor's period.
func (s *Server) SetJanitorEvery(d time.Duration) { s.janitorEvery = d }

// SetBatch sets the janitor's batch size.
func (s *Server) SetBatch(n int) { s.batch = n }

// CheapArgon2 is the test's cost of a hash.
var CheapArgon2 = cheapArgon2
