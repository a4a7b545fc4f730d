// Package blobs stores the bytes of the channel's attachments (mail
// attachments, large raw mails, WeChat media) in the ticket service's
// blob store, through its internal TicketBlobService, before a ticket or
// comment names them by digest.
package blobs

import (
	"context"

	ticketv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/ticket/v1"
	"github.com/kubedesk/kubedesk/services/platform/tenant"
)

// chunk is the size of each streamed piece; the service takes up to 1 MiB.
const chunk = 512 << 10

// Put streams data to the tenant's blob store and returns its hex SHA-256
// digest.
func Put(ctx context.Context, client ticketv1.TicketBlobServiceClient, tenantID string, data []byte) (string, error) {
	stream, err := client.UploadBlob(tenant.Outgoing(ctx, tenantID))
	if err != nil {
		return "", err
	}
	for len(data) > 0 {
		n := min(len(data), chunk)
		if err := stream.Send(&ticketv1.UploadBlobRequest{Chunk: data[:n]}); err != nil {
			// The server's reason comes with CloseAndRecv.
			break
		}
		data = data[n:]
	}
	res, err := stream.CloseAndRecv()
	if err != nil {
		return "", err
	}
	return res.GetSha256(), nil
}
