package email

import (
	"context"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/kubedesk/kubedesk/operator/api/v1alpha1"
	ticketv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/ticket/v1"
	"github.com/kubedesk/kubedesk/services/channel/smtpin"
	"github.com/kubedesk/kubedesk/services/channel/store"
	"github.com/kubedesk/kubedesk/services/platform/tenant"
	"github.com/kubedesk/kubedesk/services/ticket/tickettest"
)

type addresses struct{}

func (addresses) ResolveEmail(context.Context, string, string, string) (string, error) {
	return "", nil
}

// faults breaks CreateTicket calls: before reaching the ticket service
// (nothing created), or after it answered (created, the answer lost).
type faults struct{ before, after atomic.Int32 }

func (f *faults) intercept(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	if method != ticketv1.TicketService_CreateTicket_FullMethodName {
		return invoker(ctx, method, req, reply, cc, opts...)
	}
	if f.before.Add(-1) >= 0 {
		return status.Error(codes.Unavailable, "injected: before the ticket service")
	}
	err := invoker(ctx, method, req, reply, cc, opts...)
	if err == nil && f.after.Add(-1) >= 0 {
		return status.Error(codes.Unavailable, "injected: the answer was lost")
	}
	return err
}

// TestNewTicketWrites: the record of a message that opens a ticket is
// written while the ticket is created; whatever fails, a retry of the
// message ends with one ticket and a record naming it, and a failure
// leaves no record behind.
func TestNewTicketWrites(t *testing.T) {
	ctx := context.Background()
	f := &faults{}
	conn := tickettest.Start(t, grpc.WithUnaryInterceptor(f.intercept))
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "channel.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	dir, err := NewDirectory(nil, "acme")
	if err != nil {
		t.Fatal(err)
	}
	tickets := ticketv1.NewTicketServiceClient(conn)
	in := &Inbound{Directory: dir, Store: st, Contacts: addresses{}, Tickets: tickets, Blobs: ticketv1.NewTicketBlobServiceClient(conn)}
	tctx := tenant.Outgoing(ctx, "acme")
	count := func() int {
		t.Helper()
		res, err := tickets.ListTickets(tctx, &ticketv1.ListTicketsRequest{PageSize: 100})
		if err != nil {
			t.Fatal(err)
		}
		return len(res.GetTickets())
	}
	deliver := func(id string) error {
		msg := "From: li.lei@example.com\r\nTo: " + DefaultAddress + "\r\nMessage-ID: <" + id + ">\r\nSubject: 打印机\r\n\r\n坏了\r\n"
		return in.Deliver(ctx, smtpin.Envelope{From: "li.lei@example.com", To: []string{DefaultAddress}}, []byte(msg))
	}
	tests := []struct {
		name          string
		before, after int32
		seed          string // a record left by an earlier delivery, naming a ticket never made
	}{
		{name: "first time"},
		{name: "the ticket service is down", before: 1},
		{name: "the ticket is made, its answer lost", after: 1},
		{name: "a record left without its ticket", seed: "01936f3e-8b7a-7c4d-9e2f-0123456789ab"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := "m" + string(rune('a'+i)) + "@example.com"
			if tt.seed != "" {
				if _, err := st.RecordMail(ctx, store.Mail{Tenant: "acme", MessageID: id, TicketID: tt.seed, Direction: store.MailIn, Status: store.MailReceived}); err != nil {
					t.Fatal(err)
				}
			}
			before := count()
			f.before.Store(tt.before)
			f.after.Store(tt.after)
			err := deliver(id)
			if tt.before+tt.after > 0 {
				if err == nil {
					t.Fatal("the failed delivery was accepted")
				}
				_, recorded, _ := st.MailByID(ctx, "acme", id)
				if tt.before > 0 && recorded {
					t.Error("a delivery whose ticket failed left its record")
				}
				if err := deliver(id); err != nil { // the sender's retry
					t.Fatal(err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if err := deliver(id); err != nil { // and a duplicate
				t.Fatal(err)
			}
			if n := count() - before; n != 1 {
				t.Fatalf("%d tickets made, want 1", n)
			}
			rec, ok, err := st.MailByID(ctx, "acme", id)
			if err != nil || !ok {
				t.Fatalf("no record: %v", err)
			}
			got, err := tickets.GetTicket(tctx, &ticketv1.GetTicketRequest{Id: rec.TicketID})
			if err != nil {
				t.Fatalf("the record names ticket %s: %v", rec.TicketID, err)
			}
			if tt.seed != "" && got.GetTicket().GetId() != tt.seed {
				t.Errorf("resumed under %s, want the recorded %s", got.GetTicket().GetId(), tt.seed)
			}
		})
	}
}

// TestInboundAddressField: a ticket opened by mail names, in its
// inbound_address custom field, the tenant's address the mail came to, as
// configured: the routing rules match on it.
func TestInboundAddressField(t *testing.T) {
	ctx := context.Background()
	conn := tickettest.Start(t)
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "channel.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	dir, err := NewDirectory([]tenant.Config{tenantWith("acme", "",
		v1alpha1.EmailInbound{Address: "Support@Acme.Example", Group: "support"},
		v1alpha1.EmailInbound{Address: "billing@acme.example", Group: "billing"})}, "")
	if err != nil {
		t.Fatal(err)
	}
	tickets := ticketv1.NewTicketServiceClient(conn)
	in := &Inbound{Directory: dir, Store: st, Contacts: addresses{}, Tickets: tickets, Blobs: ticketv1.NewTicketBlobServiceClient(conn)}
	for _, tt := range []struct {
		name      string
		to        []string
		wantAddr  string
		wantGroup string
	}{
		{"billing", []string{"billing@acme.example"}, "billing@acme.example", "billing"},
		{"any case, as configured", []string{"SUPPORT@acme.example"}, "support@acme.example", "support"},
		{"a +suffix reaches its base address", []string{"support+vip@acme.example"}, "support@acme.example", "support"},
		{"two of the tenant's addresses: the first", []string{"billing@acme.example", "support@acme.example"}, "billing@acme.example", "billing"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			id := strings.ReplaceAll(tt.name, " ", "-") + "@example.com"
			msg := "From: li.lei@example.com\r\nTo: " + strings.Join(tt.to, ", ") + "\r\nMessage-ID: <" + id + ">\r\nSubject: 发票开错了\r\n\r\n请重开发票\r\n"
			if err := in.Deliver(ctx, smtpin.Envelope{From: "li.lei@example.com", To: tt.to}, []byte(msg)); err != nil {
				t.Fatal(err)
			}
			rec, ok, err := st.MailByID(ctx, "acme", id)
			if err != nil || !ok {
				t.Fatalf("no record: %v", err)
			}
			got, err := tickets.GetTicket(tenant.Outgoing(ctx, "acme"), &ticketv1.GetTicketRequest{Id: rec.TicketID})
			if err != nil {
				t.Fatal(err)
			}
			tk := got.GetTicket()
			if tk.GetCustomFields()[InboundAddressField] != tt.wantAddr || tk.GetGroup() != tt.wantGroup || len(tk.GetCustomFields()) != 1 {
				t.Errorf("custom fields %v, group %q; want inbound_address %s alone, group %s", tk.GetCustomFields(), tk.GetGroup(), tt.wantAddr, tt.wantGroup)
			}
		})
	}
}
