package iam

import (
	"context"
	"time"

	iamv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/iam/v1"
)

// Sweep runs one round of RunJanitor's work.
func (s *Server) Sweep(ctx context.Context) { s.sweep(ctx) }

// SetJanitorEvery shortens RunJanitor's period.
func (s *Server) SetJanitorEvery(d time.Duration) { s.janitorEvery = d }

// SetBatch sets the janitor's batch size.
func (s *Server) SetBatch(n int) { s.batch = n }

// CheapArgon2 is the test's cost of a hash.
var CheapArgon2 = cheapArgon2

// HoldHashSlots takes every password-hash slot, as that many running
// hashes would, and shortens the wait for one to d; release gives them
// back.
func (s *Server) HoldHashSlots(d time.Duration) (release func()) {
	s.hashWait = d
	for range cap(s.hashing) {
		s.hashing <- struct{}{}
	}
	return func() {
		for range cap(s.hashing) {
			<-s.hashing
		}
	}
}

// Auth is the server's internal AuthService, to call without a gRPC
// server.
func (s *Server) Auth() iamv1.AuthServiceServer { return authServer{s: s} }
