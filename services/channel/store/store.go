// Package store keeps the channel service's contacts, organisations and
// contact audit log in SQLite (embedded, the default) or PostgreSQL
// (production). Both engines run the same statements through a small
// dialect layer (engine.go) and are held to the Store contract by one
// suite (store_test.go). The tables are named channel_* so that the
// service can share a database with the others.
//
// Uniqueness is the database's: an identity is a row of channel_identities
// under UNIQUE (tenant, type, value), a domain a row of channel_org_domains
// under UNIQUE (tenant, domain). A write that breaks one fails as a whole
// and is reported as a *ConflictError naming the holder; ResolveIdentity
// turns that failure into a read of the winner, so concurrent resolvers of
// one identity end with one contact.
package store

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	channelv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/channel/v1"
	"github.com/kubedesk/kubedesk/services/platform/storage"
)

//go:embed migrations
var migrations embed.FS

// migrationScope records the channel service's migrations apart from
// other services sharing a database.
const migrationScope = "channel"

// Open opens the store a service is configured for: PostgreSQL when
// databaseURL is a postgres:// or postgresql:// URL, else (databaseURL
// empty) the SQLite file channel.db in dataDir, which it creates if
// needed.
func Open(ctx context.Context, databaseURL, dataDir string) (Store, error) {
	return storage.Open(ctx, databaseURL, dataDir, "channel.db",
		func(ctx context.Context, url string) (Store, error) { return OpenPostgres(ctx, url) },
		func(ctx context.Context, path string) (Store, error) { return OpenSQLite(ctx, path) })
}

// NewID returns a new time-ordered identifier (UUIDv7).
func NewID() string { return uuid.Must(uuid.NewV7()).String() }

// now is the store's clock: UTC, at the microsecond precision both engines
// keep, so what a write returns equals what a read returns later.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// fold is the form names are compared in by the name filters: Go's
// lower-casing, so both engines agree whatever their locale.
func fold(s string) string { return strings.ToLower(s) }

// text is one text value given to the store, named for the error that
// refuses it.
type text struct{ field, value string }

// checkText refuses the first value that holds a NUL byte.
func checkText(values ...text) error {
	for _, v := range values {
		if strings.IndexByte(v.value, 0) >= 0 {
			return fmt.Errorf("%s %q: %w", v.field, v.value, ErrNULText)
		}
	}
	return nil
}

func contactText(c Contact) []text {
	out := []text{
		{"tenant", c.Tenant}, {"id", c.ID}, {"display name", c.DisplayName}, {"organization id", c.OrganizationID},
		{"tier", c.Tier}, {"locale", c.Locale}, {"time zone", c.TimeZone},
	}
	for _, i := range c.Identities {
		out = append(out, text{"identity", i.Value})
	}
	for k, v := range c.CustomFields {
		out = append(out, text{"custom field", k}, text{"custom field " + k, v})
	}
	return out
}

func orgText(o Organization) []text {
	out := []text{
		{"tenant", o.Tenant}, {"id", o.ID}, {"name", o.Name}, {"region", o.Region},
		{"industry", o.Industry}, {"tier", o.Tier},
	}
	for _, d := range o.Domains {
		out = append(out, text{"domain", d})
	}
	for k, v := range o.CustomFields {
		out = append(out, text{"custom field", k}, text{"custom field " + k, v})
	}
	return out
}

// normContact returns c as the store keeps it: lists and maps copied and
// never nil, the tier defaulted.
func normContact(c Contact) Contact {
	c.Identities = slices.Clone(c.Identities)
	if c.Identities == nil {
		c.Identities = []Identity{}
	}
	c.CustomFields = cloneMap(c.CustomFields)
	if c.Tier == "" {
		c.Tier = DefaultTier
	}
	return c
}

func normOrg(o Organization) Organization {
	o.Domains = slices.Clone(o.Domains)
	if o.Domains == nil {
		o.Domains = []string{}
	}
	for i, d := range o.Domains {
		o.Domains[i] = strings.ToLower(d)
	}
	o.CustomFields = cloneMap(o.CustomFields)
	if o.Tier == "" {
		o.Tier = DefaultTier
	}
	return o
}

func cloneMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	maps.Copy(out, m)
	return out
}

// checkIdentities refuses identities that are not normalised, and the
// same identity twice.
func checkIdentities(ids []Identity) error {
	seen := map[Identity]bool{}
	for _, id := range ids {
		n, err := NormalizeIdentity(id)
		if err != nil {
			return fmt.Errorf("identity: %w", err)
		}
		if n.Value != id.Value {
			return fmt.Errorf("identity %s: not normalised (%s)", id, n.Value)
		}
		key := Identity{Type: id.Type, Value: id.Value}
		if seen[key] {
			return fmt.Errorf("identity %s: given twice", key)
		}
		seen[key] = true
	}
	return nil
}

func checkDomains(ds []string) error {
	seen := map[string]bool{}
	for _, d := range ds {
		n, err := NormalizeDomain(d)
		if err != nil {
			return fmt.Errorf("domain: %w", err)
		}
		if n != d {
			return fmt.Errorf("domain %q: not normalised (%s)", d, n)
		}
		if seen[d] {
			return fmt.Errorf("domain %q: given twice", d)
		}
		seen[d] = true
	}
	return nil
}

func checkLimit(what string, limit int) error {
	if limit <= 0 {
		return fmt.Errorf("%s: limit %d: must be > 0", what, limit)
	}
	return nil
}

// jsonIdentity is how an identity is written in a JSON column.
type jsonIdentity struct {
	Type    int32  `json:"type"`
	Value   string `json:"value"`
	Primary bool   `json:"primary,omitempty"`
}

func identitiesJSON(ids []Identity) string {
	out := make([]jsonIdentity, len(ids))
	for i, id := range ids {
		out[i] = jsonIdentity{Type: int32(id.Type), Value: id.Value, Primary: id.Primary}
	}
	b, _ := json.Marshal(out) // strings and numbers always encode
	return string(b)
}

func identitiesFromJSON(s string) ([]Identity, error) {
	var in []jsonIdentity
	if err := json.Unmarshal([]byte(s), &in); err != nil {
		return nil, err
	}
	out := make([]Identity, len(in))
	for i, id := range in {
		out[i] = Identity{Type: channelv1.IdentityType(id.Type), Value: id.Value, Primary: id.Primary}
	}
	return out, nil
}

func stringsJSON(v any) string {
	b, _ := json.Marshal(v) // strings always encode
	return string(b)
}

// errMutate carries mutate's own error out of a transaction, so that the
// update returns it untouched.
type errMutate struct{ err error }

func (e errMutate) Error() string { return e.err.Error() }

// mergeIdentities is into's identities after a merge with moved: into's
// first, then those moved, each moved one primary only where into has no
// primary of its type.
func mergeIdentities(into, moved []Identity) []Identity {
	out := slices.Clone(into)
	primary := map[channelv1.IdentityType]bool{}
	for _, id := range into {
		primary[id.Type] = primary[id.Type] || id.Primary
	}
	for _, id := range moved {
		if primary[id.Type] {
			id.Primary = false
		}
		primary[id.Type] = primary[id.Type] || id.Primary
		out = append(out, id)
	}
	return out
}
