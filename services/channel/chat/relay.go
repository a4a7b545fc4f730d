package chat

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kubedesk/kubedesk/services/platform/storage"
)

// notifyChannel is the PostgreSQL channel the replicas' hubs talk on.
const notifyChannel = "kubedesk_chat"

// PGRelay connects the hubs of the channel service's replicas through
// PostgreSQL's LISTEN/NOTIFY: what one replica's hub is told, the others'
// subscribers hear. A notification is a hint (streams also poll the
// store), so one lost while a connection was down costs at most a typing
// indicator; after a reconnect every stream is woken to read the store.
type PGRelay struct {
	pool     *pgxpool.Pool
	notifier *storage.PGNotifier
	listener *storage.PGListener
}

// OpenPGRelay connects hub to the other replicas through the database at
// url.
func OpenPGRelay(ctx context.Context, url string, hub *Hub) (*PGRelay, error) {
	pool, err := storage.OpenPostgres(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("chat relay: %w", err)
	}
	r := &PGRelay{pool: pool, notifier: storage.NewPGNotifier(pool, notifyChannel)}
	r.listener = storage.ListenPostgres(pool.Config().ConnConfig, notifyChannel, hub.Receive, hub.WakeAll)
	hub.SetRelay(r)
	return r, nil
}

// Send implements Relay.
func (r *PGRelay) Send(payload string) { r.notifier.Notify(payload) }

// Close stops the relay.
func (r *PGRelay) Close() error {
	r.listener.Close()
	r.notifier.Close()
	r.pool.Close()
	return nil
}
