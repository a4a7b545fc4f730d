package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"google.golang.org/grpc/metadata"

	ticketv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/ticket/v1"
)

// TestAttachmentsREST uploads attachments' bytes over gRPC (TicketBlobService,
// as an integration) and reads them back over REST: the bytes as they are
// under their own Content-Type, a Content-Disposition that makes HTML a
// download and a PNG inline, and nothing for another tenant.
func TestAttachmentsREST(t *testing.T) {
	srv := startServe(t)
	const tenantID = "attach"
	hdr := []string{"X-Kubedesk-Tenant", tenantID}
	ctx := metadata.AppendToOutgoingContext(t.Context(), "authorization", "Bearer "+srv.roleKey(t, tenantID, "integration"))
	blobs := ticketv1.NewTicketBlobServiceClient(grpcConn(t, srv.grpc))
	upload := func(data []byte) string {
		t.Helper()
		stream, err := blobs.UploadBlob(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for rest := data; len(rest) > 0; {
			n := min(len(rest), 1<<20)
			if err := stream.Send(&ticketv1.UploadBlobRequest{Chunk: rest[:n]}); err != nil {
				t.Fatal(err)
			}
			rest = rest[n:]
		}
		resp, err := stream.CloseAndRecv()
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		if resp.GetSha256() != hex.EncodeToString(sum[:]) || resp.GetSize() != int64(len(data)) {
			t.Fatalf("UploadBlob = %v, want the digest and size of %d bytes", resp, len(data))
		}
		return resp.GetSha256()
	}
	html := []byte("<html><script>alert(document.cookie)</script></html>\n")
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
	bin := bytes.Repeat([]byte("\x00\n\xff{\"x\":1}\n"), 300000) // 3.3 MB: four chunks, with newlines and JSON in it

	c := srv.create(t, map[string]any{"subject": "see attached", "attachments": []map[string]any{
		{"filename": "page.html", "contentType": "text/html", "sha256": upload(html)},
		{"filename": "截图 1.png", "contentType": "image/png", "sha256": upload(png), "inline": true},
		{"filename": "dump.bin", "sha256": upload(bin)},
	}}, hdr...)
	atts := c.json["attachments"].([]any)
	if len(atts) != 3 || c.json["number"] != "1" {
		t.Fatalf("created ticket: number %v, attachments %v; want number 1 and three", c.json["number"], atts)
	}
	for i, tt := range []struct {
		data                     []byte
		contentType, disposition string
	}{
		{html, "text/html", `attachment; filename="page.html"; filename*=UTF-8''page.html`},
		{png, "image/png", `inline; filename="__ 1.png"; filename*=UTF-8''%E6%88%AA%E5%9B%BE%201.png`},
		{bin, "application/octet-stream", `attachment; filename="dump.bin"; filename*=UTF-8''dump.bin`},
	} {
		a := atts[i].(map[string]any)
		path := "/v1/tickets/" + c.str("id") + "/attachments/" + a["id"].(string)
		r := srv.mustCall(t, 200, "GET", path, nil, hdr...)
		if !bytes.Equal(r.body, tt.data) {
			t.Errorf("GET %s: %d bytes, want the %d uploaded", a["filename"], len(r.body), len(tt.data))
		}
		if got := r.header.Get("Content-Type"); got != tt.contentType {
			t.Errorf("GET %s: Content-Type %q, want %q", a["filename"], got, tt.contentType)
		}
		if got := r.header.Get("Content-Disposition"); got != tt.disposition {
			t.Errorf("GET %s: Content-Disposition %q, want %q", a["filename"], got, tt.disposition)
		}
		if got := r.header.Values("X-Content-Type-Options"); len(got) != 1 || got[0] != "nosniff" {
			t.Errorf("GET %s: X-Content-Type-Options %q, want nosniff once", a["filename"], got)
		}
		if r := srv.call(t, "GET", path, nil, "X-Kubedesk-Tenant", "other"); r.code != 404 {
			t.Errorf("GET %s as another tenant = %d %s, want 404", a["filename"], r.code, r.body)
		}
	}
	if r := srv.call(t, "GET", "/v1/tickets/"+c.str("id")+"/attachments/nope", nil, hdr...); r.code != 404 {
		t.Errorf("GET of an unknown attachment = %d %s, want 404", r.code, r.body)
	}

	// A digest nobody uploaded.
	r := srv.call(t, "POST", "/v1/tickets", map[string]any{"subject": "s", "attachments": []map[string]any{
		{"filename": "x", "sha256": "0000000000000000000000000000000000000000000000000000000000000000"}}}, hdr...)
	if want := "ticket.attachments[0].sha256: no uploaded blob has this digest; upload it first"; r.code != 400 || r.json["message"] != want {
		t.Errorf("create with an unknown digest = %d %s, want 400 %q", r.code, r.body, want)
	}
	// Numbers over REST.
	list := srv.mustCall(t, 200, "GET", "/v1/tickets?filter=number%20%3D%20%231", nil, hdr...)
	if ts := list.json["tickets"].([]any); len(ts) != 1 || ts[0].(map[string]any)["id"] != c.str("id") {
		t.Errorf("filter number = #1: %s", list.body)
	}
}
