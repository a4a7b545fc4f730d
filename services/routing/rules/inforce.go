package rules

import (
	"bytes"
	"context"
	"crypto/sha256"
	"log/slog"
	"os"
	"sync/atomic"
	"time"
)

// InForce holds the rule set in force; readers never see a half-loaded
// one, and an invalid edit leaves the previous set in force.
type InForce struct {
	cur atomic.Pointer[Set]
}

// NewInForce starts with no rules.
func NewInForce() *InForce {
	f := &InForce{}
	f.cur.Store(Empty())
	return f
}

// Current returns the set in force.
func (f *InForce) Current() *Set { return f.cur.Load() }

// Load reads path (see Load) and puts its rules in force. On any error
// nothing changes: the previous set stays in force.
func (f *InForce) Load(path string, cat Catalogue) error {
	set, err := Load(path, cat)
	if err != nil {
		return err
	}
	f.cur.Store(set)
	return nil
}

// Watch reloads path whenever its content changes, checking every
// interval until ctx ends. A ConfigMap update (a symlink swap) counts as
// a change. An invalid edit is logged and the previous rules stay. The
// rules are not checked again when only the catalogue changes: the
// routing service calls Load for that.
func (f *InForce) Watch(ctx context.Context, path string, every time.Duration, cat Catalogue, log *slog.Logger) {
	last := digest(path)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		d := digest(path)
		if d == nil || bytes.Equal(d, last) {
			continue
		}
		last = d
		if err := f.Load(path, cat); err != nil {
			log.ErrorContext(ctx, "routing rules not reloaded; the previous ones stay in force", "file", path, "err", err)
			continue
		}
		set := f.Current()
		log.InfoContext(ctx, "routing rules reloaded", "file", path, "rules", len(set.All()), "warnings", set.Warnings())
	}
}

// digest is the file's content hash, nil when it cannot be read (e.g. in
// the middle of a ConfigMap update).
func digest(path string) []byte {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	sum := sha256.Sum256(data)
	return sum[:]
}
