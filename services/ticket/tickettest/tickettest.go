// Package tickettest runs a real ticket service for the tests of the
// services that call it (the channel's contacts, mail and WeChat): on
// SQLite, behind a loopback gRPC listener, trusting the tenant each call
// names (tenanttest), for as long as the test runs.
package tickettest

import (
	"context"
	"log/slog"
	"net"
	"path/filepath"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/kubedesk/kubedesk/services/platform/blob"
	"github.com/kubedesk/kubedesk/services/platform/tenant/tenanttest"
	"github.com/kubedesk/kubedesk/services/ticket"
	"github.com/kubedesk/kubedesk/services/ticket/store"
)

// Start runs the ticket service, with a blob store for attachments in a
// temporary directory, and returns a connection to it, dialled
// with opts besides plain-text transport (a test's fault-injecting
// interceptor, say).
func Start(tb testing.TB, opts ...grpc.DialOption) *grpc.ClientConn {
	tb.Helper()
	s, err := store.OpenSQLite(context.Background(), filepath.Join(tb.TempDir(), "ticket.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	blobs, err := blob.NewFS(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	gs := grpc.NewServer(tenanttest.ServerOptions()...)
	ticket.NewServer(s, ticket.Config{}, slog.New(slog.DiscardHandler), ticket.WithBlobs(blobs)).Register(gs)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	go func() { _ = gs.Serve(lis) }()
	tb.Cleanup(gs.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, opts...)...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = conn.Close() })
	return conn
}
