package e2e

import (
	"archive/tar"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tcexec "github.com/testcontainers/testcontainers-go/exec"
)

const tenantHeader = "X-Kubedesk-Tenant"

// ticket is the REST (grpc-gateway, protojson) form of kubedesk.ticket.v1.Ticket,
// as far as these tests look at it.
type ticket struct {
	ID          string    `json:"id"`
	Tenant      string    `json:"tenant"`
	Subject     string    `json:"subject"`
	Description string    `json:"description"`
	Status      string    `json:"status"`
	Impact      int       `json:"impact"`
	Urgency     int       `json:"urgency"`
	Priority    string    `json:"priority"`
	Channel     string    `json:"channel"`
	Requester   requester `json:"requester"`
	CreateTime  time.Time `json:"createTime"`
	Etag        string    `json:"etag"`
}

type requester struct {
	Name  string `json:"name"`
	Email string `json:"email"`
}

type listTicketsResponse struct {
	Tickets       []ticket `json:"tickets"`
	NextPageToken *string  `json:"nextPageToken"`
}

// rpcStatus is google.rpc.Status as JSON: every error the API returns.
type rpcStatus struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// gRPC codes the tests expect (google.golang.org/grpc/codes, by number).
const (
	codeInvalidArgument = 3
	codeNotFound        = 5
)

// TestProbes checks the health endpoints of the running server.
func TestProbes(t *testing.T) {
	_, base := kubedesk(t)
	for _, path := range []string{"/healthz", "/readyz"} {
		t.Run(path, func(t *testing.T) {
			status, body, _ := do(t, http.MethodGet, base+path, nil, nil)
			if status != http.StatusOK {
				t.Errorf("GET %s: status %d, want 200; body: %s", path, status, body)
			}
		})
	}
}

// TestRunsAsNonroot checks the server's processes run as 65532 (the kernel's
// view, through docker top) and that what it writes in /data is theirs.
func TestRunsAsNonroot(t *testing.T) {
	ctr, base := kubedesk(t)
	cli := dockerClient(t)

	top, err := cli.ContainerTop(t.Context(), ctr.GetContainerID(), client.ContainerTopOptions{
		Arguments: []string{"-o", "pid,uid,gid,comm"},
	})
	if err != nil {
		t.Fatalf("docker top: %v", err)
	}
	uid, gid := slices.Index(top.Titles, "UID"), slices.Index(top.Titles, "GID")
	if uid < 0 || gid < 0 || len(top.Processes) == 0 {
		t.Fatalf("docker top: no UID/GID columns or no processes: %v %v", top.Titles, top.Processes)
	}
	for _, p := range top.Processes {
		if p[uid] != nonrootID || p[gid] != nonrootID {
			t.Errorf("process %v runs as %s:%s, want %s:%s", p, p[uid], p[gid], nonrootID, nonrootID)
		}
	}

	// Make sure the server has written something, then look at /data.
	do(t, http.MethodGet, base+"/v1/tickets", nil, nil)
	cp, err := cli.CopyFromContainer(t.Context(), ctr.GetContainerID(), client.CopyFromContainerOptions{SourcePath: "/data"})
	if err != nil {
		t.Fatalf("docker cp /data: %v", err)
	}
	defer cp.Content.Close()
	files := 0
	tr := tar.NewReader(cp.Content)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("docker cp /data: %v", err)
		}
		if hdr.Uid != nonroot {
			t.Errorf("/%s is owned by uid %d, want %d", hdr.Name, hdr.Uid, nonroot)
		}
		if hdr.Typeflag == tar.TypeReg {
			files++
		}
	}
	if files == 0 {
		t.Errorf("the server wrote no file in /data; is --data-dir=/data honoured?")
	}
}

// TestTicketsOverREST creates a ticket written in Chinese over REST, reads it
// back byte for byte, retries the create with the same Idempotency-Key and
// checks that nothing was created twice, nothing leaks to another tenant and
// invalid requests write nothing.
func TestTicketsOverREST(t *testing.T) {
	ctr, base := kubedesk(t)
	want := ticket{
		Subject:     "打印机无法连接",
		Description: "三楼的打印机从昨天起连不上网络 🖨️\n型号：HP LaserJet «M404dn»，IP 10.0.3.17 & 端口 9100。",
		Impact:      2,
		Urgency:     1,
		Requester:   requester{Name: "张伟", Email: "zhang.wei@example.com"},
	}
	body := map[string]any{
		"subject":     want.Subject,
		"description": want.Description,
		"impact":      want.Impact,
		"urgency":     want.Urgency,
		"requester":   map[string]string{"name": want.Requester.Name, "email": want.Requester.Email},
	}
	key := http.Header{"Idempotency-Key": {"e2e-" + randomHex(t)}}

	var created ticket
	t.Run("create", func(t *testing.T) {
		status, raw, hdr := do(t, http.MethodPost, base+"/v1/tickets", key, body)
		if status != http.StatusOK && status != http.StatusCreated {
			t.Fatalf("POST /v1/tickets: status %d, want 200 or 201; body: %s", status, raw)
		}
		checkJSON(t, hdr)
		decode(t, raw, &created)
		if created.ID == "" {
			t.Fatalf("POST /v1/tickets returned no id: %s", raw)
		}
		checkTicket(t, created, want)
	})
	if created.ID == "" {
		t.FailNow()
	}

	t.Run("read back", func(t *testing.T) {
		tests := []struct {
			name   string
			header http.Header
		}{
			{"no tenant header", nil},
			{"default tenant", http.Header{tenantHeader: {"default"}}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				status, raw, hdr := do(t, http.MethodGet, base+"/v1/tickets/"+created.ID, tt.header, nil)
				if status != http.StatusOK {
					t.Fatalf("GET /v1/tickets/%s: status %d, want 200; body: %s", created.ID, status, raw)
				}
				checkJSON(t, hdr)
				var got ticket
				decode(t, raw, &got)
				sameBytes(t, "subject", got.Subject, want.Subject)
				sameBytes(t, "description", got.Description, want.Description)
				sameBytes(t, "requester.name", got.Requester.Name, want.Requester.Name)
				if diff := cmp.Diff(created, got); diff != "" {
					t.Errorf("GET returned another ticket than POST did (-post +get):\n%s", diff)
				}
			})
		}
	})

	t.Run("idempotent retry", func(t *testing.T) {
		status, raw, _ := do(t, http.MethodPost, base+"/v1/tickets", key, body)
		if status != http.StatusOK && status != http.StatusCreated {
			t.Fatalf("retried POST /v1/tickets: status %d, want 200 or 201; body: %s", status, raw)
		}
		var again ticket
		decode(t, raw, &again)
		if again.ID != created.ID {
			t.Errorf("retried POST with Idempotency-Key %s created ticket %s; want the first one, %s", key.Get("Idempotency-Key"), again.ID, created.ID)
		}
		if diff := cmp.Diff(created, again); diff != "" {
			t.Errorf("retried POST returned another ticket than the first (-first +retry):\n%s", diff)
		}
	})

	t.Run("invalid input", func(t *testing.T) {
		tests := []struct {
			name      string
			method    string
			path      string
			body      any
			status    int
			code      int
			inMessage string // the message names the field or the ticket
		}{
			{
				name: "empty subject", method: http.MethodPost, path: "/v1/tickets",
				body:   map[string]any{"subject": "  ", "description": "没有标题"},
				status: http.StatusBadRequest, code: codeInvalidArgument, inMessage: "subject",
			},
			{
				name: "impact out of range", method: http.MethodPost, path: "/v1/tickets",
				body:   map[string]any{"subject": "影响范围错误", "impact": 7},
				status: http.StatusBadRequest, code: codeInvalidArgument, inMessage: "impact",
			},
			{
				name: "unknown ticket", method: http.MethodGet, path: "/v1/tickets/0190a8e2-0000-7000-8000-000000000000",
				status: http.StatusNotFound, code: codeNotFound, inMessage: "",
			},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				status, raw, hdr := do(t, tt.method, base+tt.path, nil, tt.body)
				if status != tt.status {
					t.Fatalf("%s %s: status %d, want %d; body: %s", tt.method, tt.path, status, tt.status, raw)
				}
				checkJSON(t, hdr)
				var st rpcStatus
				decode(t, raw, &st)
				if st.Code != tt.code {
					t.Errorf("%s %s: google.rpc.Status code %d, want %d; body: %s", tt.method, tt.path, st.Code, tt.code, raw)
				}
				if st.Message == "" || !strings.Contains(st.Message, tt.inMessage) {
					t.Errorf("%s %s: message %q should name %q", tt.method, tt.path, st.Message, tt.inMessage)
				}
			})
		}
	})

	t.Run("credentials", func(t *testing.T) {
		tests := []struct {
			name   string
			header http.Header
			want   int
		}{
			{"none", http.Header{"Authorization": {""}}, http.StatusUnauthorized},
			{"unknown key", http.Header{"Authorization": {"Bearer kd_" + randomHex(t)}}, http.StatusUnauthorized},
			{"not bearer", http.Header{"Authorization": {"Basic YWRtaW46YWRtaW4="}}, http.StatusUnauthorized},
			// The tenant is the credential's: naming another is refused.
			{"spoofed tenant", http.Header{tenantHeader: {"e2e-other"}}, http.StatusForbidden},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				status, raw, hdr := do(t, http.MethodGet, base+"/v1/tickets/"+created.ID, tt.header, nil)
				if status != tt.want {
					t.Fatalf("GET /v1/tickets/%s: status %d, want %d; body: %s", created.ID, status, tt.want, raw)
				}
				if bytes.Contains(raw, []byte(want.Subject)) {
					t.Errorf("the refused request reads the ticket: %s", raw)
				}
				if status == http.StatusUnauthorized && !strings.HasPrefix(hdr.Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("401 without WWW-Authenticate: Bearer (got %q)", hdr.Get("WWW-Authenticate"))
				}
			})
		}
	})

	t.Run("other tenant sees nothing", func(t *testing.T) {
		// A key of another tenant, made through the API with the admin key.
		other := http.Header{"Authorization": {"Bearer " + apikeyCreate(t, ctr, "--tenant=e2e-other", "--role=admin", "--name=e2e")}}
		// The ticket's existence must not leak: asking for it answers as
		// asking for a ticket that never existed.
		status, raw, _ := do(t, http.MethodGet, base+"/v1/tickets/"+created.ID, other, nil)
		missing, missingRaw, _ := do(t, http.MethodGet, base+"/v1/tickets/0190a8e2-0000-7000-8000-000000000000", other, nil)
		if status/100 == 2 || status != missing {
			t.Errorf("GET a default-tenant ticket as tenant e2e-other: status %d (%s); a missing ticket: %d (%s); want the same, not 2xx", status, raw, missing, missingRaw)
		}
		if bytes.Contains(raw, []byte(want.Subject)) {
			t.Errorf("tenant e2e-other can read the ticket: %s", raw)
		}
		status, raw, _ = do(t, http.MethodGet, base+"/v1/tickets", other, nil)
		if status == http.StatusOK {
			var list listTicketsResponse
			decode(t, raw, &list)
			if len(list.Tickets) != 0 {
				t.Errorf("tenant e2e-other lists %d tickets of tenant default: %s", len(list.Tickets), raw)
			}
		}
	})

	t.Run("list has exactly one ticket", func(t *testing.T) {
		status, raw, hdr := do(t, http.MethodGet, base+"/v1/tickets", nil, nil)
		if status != http.StatusOK {
			t.Fatalf("GET /v1/tickets: status %d, want 200; body: %s", status, raw)
		}
		checkJSON(t, hdr)
		var list listTicketsResponse
		decode(t, raw, &list)
		if len(list.Tickets) != 1 {
			t.Fatalf("GET /v1/tickets lists %d tickets, want exactly 1 (the retry and the invalid requests must create nothing): %s", len(list.Tickets), raw)
		}
		if diff := cmp.Diff(created, list.Tickets[0]); diff != "" {
			t.Errorf("the listed ticket differs from the created one (-created +listed):\n%s", diff)
		}
		if list.NextPageToken == nil || *list.NextPageToken != "" {
			t.Errorf(`nextPageToken should be "" on the last page: %s`, raw)
		}
	})
}

// checkTicket checks what the server derives when it creates want.
func checkTicket(t *testing.T, got, want ticket) {
	t.Helper()
	sameBytes(t, "subject", got.Subject, want.Subject)
	sameBytes(t, "description", got.Description, want.Description)
	sameBytes(t, "requester.name", got.Requester.Name, want.Requester.Name)
	tests := []struct {
		field     string
		got, want any
	}{
		{"tenant", got.Tenant, "default"},
		{"status", got.Status, "STATUS_NEW"},
		// ITIL matrix: impact medium x urgency high.
		{"priority", got.Priority, "PRIORITY_P2"},
		{"channel", got.Channel, "CHANNEL_API"},
		{"impact", got.Impact, want.Impact},
		{"urgency", got.Urgency, want.Urgency},
		{"requester.email", got.Requester.Email, want.Requester.Email},
		{"createTime set", !got.CreateTime.IsZero(), true},
		{"etag set", got.Etag != "", true},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("created ticket: %s = %v, want %v", tt.field, tt.got, tt.want)
		}
	}
}

// sameBytes compares UTF-8 text byte for byte and shows where it differs.
func sameBytes(t *testing.T, field, got, want string) {
	t.Helper()
	if got == want {
		return
	}
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	t.Errorf("%s differs from byte %d on:\n got  %q (% x)\n want %q (% x)", field, i, got, got[i:], want, want[i:])
}

var httpClient = &http.Client{Timeout: 30 * time.Second}

// do sends one request (body, when not nil, as JSON) and returns the status,
// the body and the response headers.
func do(t *testing.T, method, url string, header http.Header, body any) (int, []byte, http.Header) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[http.CanonicalHeaderKey(k)] = v
	}
	// The admin key of the container called, unless the test chose a
	// credential (an empty Authorization sends none).
	if auth, chosen := req.Header["Authorization"]; !chosen {
		adminKeys.Range(func(base, key any) bool {
			if strings.HasPrefix(url, base.(string)+"/") {
				req.Header.Set("Authorization", "Bearer "+key.(string))
				return false
			}
			return true
		})
	} else if len(auth) == 0 || auth[0] == "" {
		req.Header.Del("Authorization")
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, url, err)
	}
	return resp.StatusCode, b, resp.Header
}

func checkJSON(t *testing.T, h http.Header) {
	t.Helper()
	mt, _, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		t.Errorf("Content-Type %q, want application/json", h.Get("Content-Type"))
	}
}

func decode(t *testing.T, raw []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("decode %T: %v; body: %s", v, err, raw)
	}
}

func randomHex(t *testing.T) string {
	t.Helper()
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// apikeyCreate runs `kubedesk apikey create` with args in the container,
// on its data directory, and returns the key it printed.
func apikeyCreate(t *testing.T, ctr *testcontainers.DockerContainer, args ...string) string {
	t.Helper()
	cmd := append([]string{"/kubedesk", "apikey", "create", "--data-dir=/data"}, args...)
	code, out, err := ctr.Exec(t.Context(), cmd, tcexec.Multiplexed())
	if err != nil {
		t.Fatalf("%v: %v", cmd, err)
	}
	raw, err := io.ReadAll(out)
	if err != nil {
		t.Fatal(err)
	}
	if code != 0 {
		t.Fatalf("%v exited %d: %s", cmd, code, raw)
	}
	// stdout has the key alone; stderr, merged in, says what was made.
	for line := range strings.Lines(string(raw)) {
		if line = strings.TrimSpace(line); strings.HasPrefix(line, "kd_") {
			return line
		}
	}
	t.Fatalf("%v printed no key: %s", cmd, raw)
	return ""
}
