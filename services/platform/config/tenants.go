package config

import (
	"fmt"

	"github.com/kubedesk/kubedesk/services/platform/tenant"
)

// Tenants reads the HelpdeskTenant documents among docs (of the file at
// path), refusing a tenant declared twice. check, when not nil, adds a
// module's own checks of a tenant; its error is reported with the
// document's position like the others.
func Tenants(path string, docs []Document, check func(tenant.Config) error) (map[string]tenant.Config, error) {
	tenants := map[string]tenant.Config{}
	first := map[string]int{}
	for _, doc := range docs {
		if doc.Kind != "HelpdeskTenant" {
			continue
		}
		t, err := tenant.FromDocument(doc.YAML)
		if err == nil && check != nil {
			if cerr := check(t); cerr != nil {
				err = fmt.Errorf("HelpdeskTenant %s: %w", t.ID, cerr)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", path, doc.Index, err)
		}
		if i, dup := first[t.ID]; dup {
			return nil, fmt.Errorf("%s: document %d: HelpdeskTenant %s is declared twice (first in document %d); accepted: one document per tenant", path, doc.Index, t.ID, i)
		}
		first[t.ID] = doc.Index
		tenants[t.ID] = t
	}
	return tenants, nil
}
