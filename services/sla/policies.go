// Package sla serves the SLA policies in force: it reads the SLAPolicy
// documents of the --config file (with the HelpdeskTenant documents whose
// default calendars they inherit), keeps the last valid set when an edit
// is invalid, and answers SLAPolicyService.
package sla

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/types/known/structpb"
	"sigs.k8s.io/yaml"

	"github.com/kubedesk/kubedesk/operator/api/v1alpha1"
	"github.com/kubedesk/kubedesk/services/platform/config"
	"github.com/kubedesk/kubedesk/services/platform/tenant"
	"github.com/kubedesk/kubedesk/workflows/policy"
)

// Entry is one policy in force and where it came from.
type Entry struct {
	Policy *policy.Policy
	Spec   *structpb.Struct // the spec as written, defaults applied
	Source string           // file#document
}

// Snapshot is a consistent set of policies, and the tenants the file
// declares.
type Snapshot struct {
	Set     *policy.Set
	Entries []Entry // in precedence order
	// Tenants are the file's HelpdeskTenant documents, by ID; empty when
	// it has none.
	Tenants map[string]tenant.Config
}

// InForce holds the current snapshot; readers never see a half-loaded one.
type InForce struct {
	cur atomic.Pointer[Snapshot]
}

// NewInForce starts with no policies.
func NewInForce() *InForce {
	f := &InForce{}
	f.cur.Store(&Snapshot{Set: policy.NewSet()})
	return f
}

// Current returns the snapshot in force.
func (f *InForce) Current() *Snapshot { return f.cur.Load() }

// Load reads the HelpdeskTenant and SLAPolicy documents of path. A policy
// without a calendar of its own gets its tenant's default calendar, by
// the rule the operator applies (v1alpha1.SLAPolicySpec.InheritCalendar).
// When the file declares tenants, every policy must name one of them. On any error nothing changes:
// the previous policies stay in force.
func (f *InForce) Load(path string) error {
	snap, err := load(path)
	if err != nil {
		return err
	}
	f.cur.Store(snap)
	return nil
}

func load(path string) (*Snapshot, error) {
	docs, err := config.ReadDocuments(path)
	if err != nil {
		return nil, err
	}
	tenants, err := config.Tenants(path, docs, checkTenant)
	if err != nil {
		return nil, err
	}
	var (
		policies []*policy.Policy
		entries  = map[*policy.Policy]Entry{}
		seen     = map[string]string{}
	)
	for _, doc := range docs {
		if doc.Kind != "SLAPolicy" {
			continue
		}
		source := fmt.Sprintf("%s#%d", path, doc.Index)
		var p v1alpha1.SLAPolicy
		if err := yaml.UnmarshalStrict(doc.YAML, &p); err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", path, doc.Index, err)
		}
		if len(tenants) > 0 {
			t, ok := tenants[p.Spec.TenantRef.Name]
			if !ok {
				return nil, fmt.Errorf("%s: document %d: SLAPolicy %s: spec.tenantRef.name: %q is not a HelpdeskTenant of this file; accepted: %s",
					path, doc.Index, p.Name, p.Spec.TenantRef.Name, strings.Join(slices.Sorted(maps.Keys(tenants)), ", "))
			}
			p.Spec.InheritCalendar(&t.Spec)
		}
		p.SetDefaults()
		pol, err := policy.Compile(p)
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", path, doc.Index, err)
		}
		if first, dup := seen[pol.Name]; dup {
			return nil, fmt.Errorf("%s: document %d: SLAPolicy %s is defined twice (first at %s); accepted: one document per name", path, doc.Index, pol.Name, first)
		}
		seen[pol.Name] = source
		spec, err := toStruct(p.Spec)
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", path, doc.Index, err)
		}
		policies = append(policies, pol)
		entries[pol] = Entry{Policy: pol, Spec: spec, Source: source}
	}
	set := policy.NewSet(policies...)
	snap := &Snapshot{Set: set, Tenants: tenants}
	for _, p := range set.Policies() {
		snap.Entries = append(snap.Entries, entries[p])
	}
	return snap, nil
}

// checkTenant refuses a tenant whose default calendar the clocks could
// not use.
func checkTenant(t tenant.Config) error {
	if t.Spec.Calendar == nil {
		return nil
	}
	return policy.CheckCalendar(*t.Spec.Calendar, "spec.calendar")
}

func toStruct(spec v1alpha1.SLAPolicySpec) (*structpb.Struct, error) {
	raw, err := json.Marshal(spec)
	if err != nil {
		return nil, fmt.Errorf("encoding the spec: %w", err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("encoding the spec: %w", err)
	}
	return structpb.NewStruct(m)
}

// Watch reloads path whenever its content changes, checking every
// interval until ctx ends. A ConfigMap update (a symlink swap) counts as a
// change. An invalid edit is logged and the previous policies stay.
func (f *InForce) Watch(ctx context.Context, path string, every time.Duration, log *slog.Logger) {
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
		if err := f.Load(path); err != nil {
			log.ErrorContext(ctx, "SLA policies not reloaded; the previous ones stay in force", "file", path, "err", err)
			continue
		}
		log.InfoContext(ctx, "SLA policies reloaded", "file", path, "policies", len(f.Current().Entries))
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
