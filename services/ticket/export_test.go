package ticket

import "context"

// SharedReads exposes the WatchEvents read sharing to package ticket_test,
// whose tests run it on a real store.
type SharedReads = sharedReads

// Fresh asks List for a read of its own.
const Fresh = fresh

func NewSharedReads(s Store) *SharedReads { return newSharedReads(s) }

func (r *SharedReads) Subscribe(tenant string) (<-chan struct{}, func() uint64, func()) {
	return r.subscribe(tenant)
}

func (r *SharedReads) List(ctx context.Context, tenant, after string, limit int, notified uint64) ([]Event, error) {
	return r.list(ctx, tenant, after, limit, notified)
}

func (r *SharedReads) Joiners(tenant, after string, limit int) int {
	return r.joiners(tenant, after, limit)
}
