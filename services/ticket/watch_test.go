package ticket_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	ticketv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/ticket/v1"
	"github.com/kubedesk/kubedesk/services/platform/tenant"
	"github.com/kubedesk/kubedesk/services/platform/tenant/tenanttest"
	"github.com/kubedesk/kubedesk/services/ticket"
	"github.com/kubedesk/kubedesk/services/ticket/store"
)

// serveTickets serves a ticket server over s on a loopback gRPC listener
// with opts, until the test ends, and returns a client of it.
func serveTickets(t *testing.T, s ticket.Store, opts ...grpc.ServerOption) ticketv1.TicketServiceClient {
	t.Helper()
	return ticketv1.NewTicketServiceClient(serveServer(t, ticket.NewServer(s, ticket.Config{}, slog.New(slog.DiscardHandler)), opts...))
}

// serveServer registers srv on a gRPC server with opts, serves it on a
// loopback listener until the test ends, and returns a connection to it.
func serveServer(t *testing.T, srv *ticket.Server, opts ...grpc.ServerOption) *grpc.ClientConn {
	t.Helper()
	gs := grpc.NewServer(opts...)
	srv.Register(gs)
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
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

func openSQLite(t *testing.T) ticket.Store {
	t.Helper()
	s, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "ticket.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// heldStore counts event reads; the first one, once it has queried the
// store, waits until hold is closed (or its context ends).
type heldStore struct {
	ticket.Store
	reads atomic.Int32
	hold  chan struct{}
	held  chan struct{} // closed when the first read waits
}

func newHeldStore(s ticket.Store) *heldStore {
	return &heldStore{Store: s, hold: make(chan struct{}), held: make(chan struct{})}
}

func (h *heldStore) ListEvents(ctx context.Context, tenant, after string, limit int) ([]ticket.Event, error) {
	n := h.reads.Add(1)
	events, err := h.Store.ListEvents(ctx, tenant, after, limit)
	if n == 1 {
		close(h.held)
		select {
		case <-h.hold:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return events, err
}

func addTicket(t *testing.T, s ticket.Store, n int) {
	t.Helper()
	at := time.Date(2026, 12, 3, 9, 0, n, 0, time.UTC)
	tk := ticket.Ticket{
		ID: fmt.Sprintf("t-%03d", n), Tenant: "acme", Subject: fmt.Sprintf("ticket %d", n),
		Status: ticket.StatusNew, Impact: 2, Urgency: 2, Priority: ticket.P3, Channel: ticket.ChannelAPI,
		CreateTime: at, UpdateTime: at, Version: 1,
	}
	if _, _, err := s.CreateTicket(context.Background(), tk, ticket.Idempotency{}); err != nil {
		t.Fatal(err)
	}
}

func ticketIDs(es []ticket.Event) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.TicketID
	}
	return out
}

// TestSharedReads checks when WatchEvents streams share a read of the event
// stream: the first read of each case is held after it has queried the
// store, and a second stream asks for a page meanwhile.
func TestSharedReads(t *testing.T) {
	tests := []struct {
		name string
		// The second stream's page (default: the first's).
		after func(first []ticket.Event) string
		// The second stream was woken by a commit made after the first
		// read began (t-003), or by a poll.
		wokeByCommit, wokeByPoll bool
		cancelFirst              bool // the first stream ends while its read is held
		afterFirst               bool // the second asks once the first read is done
		wantReads                int32
		wantSecond               []string
	}{
		{name: "streams woken by one notification share the read", wantReads: 1, wantSecond: []string{"t-001", "t-002"}},
		{name: "a stream woken by the same notification later takes the read done", afterFirst: true, wantReads: 1,
			wantSecond: []string{"t-001", "t-002"}},
		{name: "a stream woken by a later commit reads afresh", wokeByCommit: true, wantReads: 2,
			wantSecond: []string{"t-001", "t-002", "t-003"}},
		{name: "a stream woken by a poll reads afresh", wokeByPoll: true, wantReads: 2,
			wantSecond: []string{"t-001", "t-002"}},
		{name: "a read ended by its stream is done again for the other", cancelFirst: true, wantReads: 2,
			wantSecond: []string{"t-001", "t-002"}},
		{name: "another cursor is another read", after: func(first []ticket.Event) string { return first[0].Cursor },
			wantReads: 2, wantSecond: []string{"t-002"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openSQLite(t)
			addTicket(t, s, 1)
			addTicket(t, s, 2)
			all, err := s.ListEvents(context.Background(), "acme", "", 10)
			if err != nil {
				t.Fatal(err)
			}
			held := newHeldStore(s)
			reads := ticket.NewSharedReads(held)
			notify, notified, cancel := reads.Subscribe("acme")
			defer cancel()

			firstCtx, endFirst := context.WithCancel(context.Background())
			defer endFirst()
			type result struct {
				events []ticket.Event
				err    error
			}
			first := make(chan result, 1)
			woke := notified()
			go func() {
				es, err := reads.List(firstCtx, "acme", "", 10, woke)
				first <- result{es, err}
			}()
			<-held.held

			after, secondWoke := "", woke
			if tt.after != nil {
				after = tt.after(all)
			}
			switch {
			case tt.wokeByCommit:
				addTicket(t, s, 3)
				<-notify
				secondWoke = notified()
			case tt.wokeByPoll:
				secondWoke = ticket.Fresh
			}
			var f result
			if tt.afterFirst {
				close(held.hold)
				f = <-first
			}
			second := make(chan result, 1)
			go func() {
				es, err := reads.List(context.Background(), "acme", after, 10, secondWoke)
				second <- result{es, err}
			}()
			if (tt.wantReads == 1 && !tt.afterFirst) || tt.cancelFirst {
				// Wait until the second stream waits on the first's read.
				for deadline := time.Now().Add(5 * time.Second); reads.Joiners("acme", "", 10) == 0; {
					if time.Now().After(deadline) {
						t.Fatal("the second stream never joined the read in flight")
					}
					time.Sleep(time.Millisecond)
				}
			}
			switch {
			case tt.cancelFirst:
				endFirst()
			case tt.wantReads == 2:
				// The second read is the store's second: it is not held.
				r := <-second
				second <- r
			}
			if !tt.afterFirst {
				close(held.hold)
				f = <-first
			}
			sr := <-second
			if tt.cancelFirst {
				if f.err == nil {
					t.Error("the ended stream's read succeeded")
				}
			} else if f.err != nil || !slices.Equal(ticketIDs(f.events), []string{"t-001", "t-002"}) {
				t.Errorf("first stream read %v, %v; want t-001, t-002", ticketIDs(f.events), f.err)
			}
			if sr.err != nil || !slices.Equal(ticketIDs(sr.events), tt.wantSecond) {
				t.Errorf("second stream read %v, %v; want %v", ticketIDs(sr.events), sr.err, tt.wantSecond)
			}
			if n := held.reads.Load(); n != tt.wantReads {
				t.Errorf("the store was read %d times, want %d", n, tt.wantReads)
			}
		})
	}
}

// TestWatchEventsManyStreams runs WatchEvents streams side by side (some
// filtered) while tickets are created and updated concurrently: each
// stream gets exactly its part of the stream, in order.
func TestWatchEventsManyStreams(t *testing.T) {
	s := openSQLite(t)
	client := serveTickets(t, s, tenanttest.ServerOptions()...)
	ctx, cancel := context.WithTimeout(tenant.Outgoing(context.Background(), "acme"), time.Minute)
	defer cancel()

	const writers, perWriter = 4, 25 // each ticket: created, then updated
	filters := [][]ticketv1.EventType{
		nil, nil, nil,
		{ticketv1.EventType_EVENT_TYPE_TICKET_CREATED},
		{ticketv1.EventType_EVENT_TYPE_TICKET_UPDATED},
	}
	got := make([][]string, len(filters))
	var readers sync.WaitGroup
	for i, types := range filters {
		stream, err := client.WatchEvents(ctx, &ticketv1.WatchEventsRequest{Types: types})
		if err != nil {
			t.Fatal(err)
		}
		want := writers * perWriter * 2
		if types != nil {
			want /= 2
		}
		readers.Go(func() {
			for len(got[i]) < want {
				msg, err := stream.Recv()
				if err != nil {
					t.Errorf("stream %d after %d events: %v", i, len(got[i]), err)
					return
				}
				if ev := msg.GetEvent(); ev != nil {
					got[i] = append(got[i], ev.GetCursor()+" "+ev.GetType().String())
				}
			}
		})
	}

	var writes sync.WaitGroup
	for range writers {
		writes.Go(func() {
			for range perWriter {
				resp, err := client.CreateTicket(ctx, &ticketv1.CreateTicketRequest{Ticket: &ticketv1.Ticket{Subject: "many streams"}})
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := client.UpdateTicket(ctx, &ticketv1.UpdateTicketRequest{
					Ticket: &ticketv1.Ticket{Id: resp.GetTicket().GetId(), Group: "billing"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"group"}},
				}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	writes.Wait()
	readers.Wait()

	all, err := s.ListEvents(context.Background(), "acme", "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	for i, types := range filters {
		var want []string
		for _, e := range all {
			pe := ticket.EventToProto(e)
			if types == nil || slices.Contains(types, pe.GetType()) {
				want = append(want, pe.GetCursor()+" "+pe.GetType().String())
			}
		}
		if diff := cmp.Diff(want, got[i]); diff != "" {
			t.Errorf("stream %d (types %v) differs from the store (-want +got):\n%s", i, types, diff)
		}
	}
}
