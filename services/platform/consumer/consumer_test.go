package consumer_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	ticketv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/ticket/v1"
	"github.com/kubedesk/kubedesk/services/platform/consumer"
	"github.com/kubedesk/kubedesk/services/platform/tenant"
	"github.com/kubedesk/kubedesk/services/platform/tenant/tenanttest"
	"github.com/kubedesk/kubedesk/services/ticket"
	"github.com/kubedesk/kubedesk/services/ticket/store"
)

// ticketService starts the real ticket service on SQLite behind a gRPC
// listener and returns a client of it.
func ticketService(t *testing.T) ticketv1.TicketServiceClient {
	t.Helper()
	s, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "ticket.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	gs := grpc.NewServer(tenanttest.ServerOptions()...)
	ticket.NewServer(s, ticket.Config{WatchPollInterval: 20 * time.Millisecond}, slog.New(slog.DiscardHandler)).Register(gs)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return ticketv1.NewTicketServiceClient(conn)
}

func openCursors(t *testing.T) consumer.Cursors {
	t.Helper()
	c, err := consumer.OpenCursors(context.Background(), "", t.TempDir(), "worker.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// recorder is a Handler that keeps the versions it handled per ticket;
// fail decides, per event and attempt, what Handle returns.
type recorder struct {
	mu       sync.Mutex
	attempts map[string]int // by cursor
	handled  map[string][]int64
	n        int
	reached  chan struct{} // closed once want events are handled
	want     int
	fail     func(ev *ticketv1.Event, attempt int) error
}

func newRecorder(want int, fail func(*ticketv1.Event, int) error) *recorder {
	return &recorder{attempts: map[string]int{}, handled: map[string][]int64{}, reached: make(chan struct{}), want: want, fail: fail}
}

func (r *recorder) Handle(_ context.Context, ev *ticketv1.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attempts[ev.GetCursor()]++
	if r.fail != nil {
		if err := r.fail(ev, r.attempts[ev.GetCursor()]); err != nil && !isPermanent(err) {
			return err
		} else if err != nil {
			r.count()
			return err
		}
	}
	r.handled[ev.GetTicketId()] = append(r.handled[ev.GetTicketId()], ev.GetTicket().GetVersion())
	r.count()
	return nil
}

func isPermanent(err error) bool { return strings.HasPrefix(err.Error(), "permanent") }

func (r *recorder) count() {
	if r.n++; r.n == r.want {
		close(r.reached)
	}
}

func (r *recorder) wait(t *testing.T) {
	t.Helper()
	select {
	case <-r.reached:
	case <-time.After(30 * time.Second):
		r.mu.Lock()
		defer r.mu.Unlock()
		t.Fatalf("handled %d events, want %d", r.n, r.want)
	}
}

func follow(c *consumer.Consumer) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	return func() error { cancel(); return <-done }
}

// TestConsumer follows a real ticket service: events of one ticket in
// order, a failing handler retried until it succeeds, a permanent failure
// passed, the position saved and resumed, and a second consumer keeping
// a position of its own.
func TestConsumer(t *testing.T) {
	client := ticketService(t)
	cursors := openCursors(t)
	ctx := tenant.Outgoing(context.Background(), "acme")
	var ids []string
	update := func(id, group string) {
		t.Helper()
		if _, err := client.UpdateTicket(ctx, &ticketv1.UpdateTicketRequest{
			Ticket: &ticketv1.Ticket{Id: id, Group: group}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"group"}},
		}); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 {
		resp, err := client.CreateTicket(ctx, &ticketv1.CreateTicketRequest{Ticket: &ticketv1.Ticket{Subject: "printer on fire"}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, resp.GetTicket().GetId())
	}
	for _, g := range []string{"a", "b", "c"} {
		for _, id := range ids {
			update(id, g)
		}
	}

	// Ticket 1's version 2 fails twice before it goes through; ticket 2's
	// version 3 fails for good.
	fail := func(ev *ticketv1.Event, attempt int) error {
		switch {
		case ev.GetTicketId() == ids[1] && ev.GetTicket().GetVersion() == 2 && attempt <= 2:
			return errors.New("temporal unavailable")
		case ev.GetTicketId() == ids[2] && ev.GetTicket().GetVersion() == 3:
			return consumer.Permanent(errors.New("permanent: refused"))
		}
		return nil
	}
	newConsumer := func(name string, h consumer.Handler) *consumer.Consumer {
		return &consumer.Consumer{
			Name: name, Tenant: "acme", Stream: client, Handler: h, Cursors: cursors, Lanes: 2,
			SaveEvery: 10 * time.Millisecond, Retry: consumer.Backoff{Initial: time.Millisecond, Max: 5 * time.Millisecond},
		}
	}
	first := newRecorder(12, fail)
	stop := follow(newConsumer("sla", first))
	first.wait(t)
	if err := stop(); err != nil {
		t.Fatalf("Run = %v, want nil once ctx ends", err)
	}
	want := map[string][]int64{ids[0]: {1, 2, 3, 4}, ids[1]: {1, 2, 3, 4}, ids[2]: {1, 2, 4}}
	if diff := cmp.Diff(want, first.handled); diff != "" {
		t.Errorf("handled versions per ticket (-want +got):\n%s", diff)
	}

	// Resumed: only what came after the saved position.
	update(ids[0], "d")
	again := newRecorder(1, nil)
	stop = follow(newConsumer("sla", again))
	again.wait(t)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string][]int64{ids[0]: {5}}, again.handled); diff != "" {
		t.Errorf("after a restart (-want +got):\n%s", diff)
	}

	// Another consumer starts at the beginning.
	other := newRecorder(13, nil)
	stop = follow(newConsumer("routing", other))
	other.wait(t)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if got := len(other.handled[ids[0]]); got != 5 {
		t.Errorf("the second consumer handled %d events of ticket 1, want 5", got)
	}
}

// TestConsumerFatal: a stored cursor the stream refuses stops the
// consumer with the error, and its group reports it.
func TestConsumerFatal(t *testing.T) {
	client := ticketService(t)
	cursors := openCursors(t)
	if err := cursors.Save(context.Background(), "sla", "acme", "not-a-cursor"); err != nil {
		t.Fatal(err)
	}
	g := &consumer.Group{New: func(tenantID string) *consumer.Consumer {
		return &consumer.Consumer{Name: "sla", Tenant: tenantID, Stream: client, Cursors: cursors,
			Handler: consumer.HandlerFunc(func(context.Context, *ticketv1.Event) error { return nil })}
	}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if !g.Add(ctx, "acme") || g.Add(ctx, "acme") {
		t.Fatal("Add started the tenant's consumer not exactly once")
	}
	select {
	case err := <-g.Fatal():
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "consumer sla of tenant acme") {
			t.Errorf("fatal error = %v, want INVALID_ARGUMENT naming the consumer and tenant", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no fatal error")
	}
	if err := g.Healthy(); err == nil || !strings.Contains(err.Error(), "after_cursor") {
		t.Errorf("Healthy = %v, want the stream's refusal", err)
	}
	cancel()
	if err := g.Wait(); err == nil {
		t.Error("Wait = nil, want the error the consumer stopped with")
	}
}

// TestConsumerUnhealthy: a stream that keeps failing makes the consumer
// unhealthy, and it keeps retrying.
func TestConsumerUnhealthy(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close() // nothing listens there
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := &consumer.Consumer{Name: "sla", Tenant: "acme", Stream: ticketv1.NewTicketServiceClient(conn), Cursors: openCursors(t),
		Handler:   consumer.HandlerFunc(func(context.Context, *ticketv1.Event) error { return nil }),
		Reconnect: consumer.Backoff{Initial: time.Millisecond, Max: 2 * time.Millisecond}, UnhealthyAfter: 3}
	if err := c.Healthy(); err != nil {
		t.Fatalf("Healthy before running = %v", err)
	}
	stop := follow(c)
	deadline := time.Now().Add(30 * time.Second)
	for c.Healthy() == nil && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	err = c.Healthy()
	if err == nil || !strings.Contains(err.Error(), "stream failed") || status.Code(err) != codes.Unavailable {
		t.Errorf("Healthy = %v, want the stream failing, UNAVAILABLE", err)
	}
	if err := stop(); err != nil {
		t.Errorf("Run = %v, want nil: an unreachable stream is retried, not fatal", err)
	}
}
