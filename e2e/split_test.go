package e2e

import (
	"context"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/network"
)

// TestSplitDeployment runs the image the way a cluster does, one module
// per container: the ticket service alone, and a gateway that finds it
// through the services map by its name on a private network. A ticket
// created through the gateway is read back through it.
func TestSplitDeployment(t *testing.T) {
	cli := dockerClient(t)
	ctx, cancel := context.WithTimeout(t.Context(), startupTimeout+time.Minute)
	defer cancel()
	if err := pinPublishedHost(ctx, cli); err != nil {
		t.Fatal(err)
	}
	nw, err := network.New(ctx)
	if err != nil {
		t.Fatalf("create a network: %v", err)
	}
	t.Cleanup(func() {
		if err := nw.Remove(context.Background()); err != nil {
			t.Logf("remove network %s: %v", nw.Name, err)
		}
	})

	// The processes of a split deployment share one internal token, as the
	// operator's Secret gives every Deployment of a tenant.
	token := "kds_" + randomHex(t) + randomHex(t)
	run := func(alias string, args ...string) (*testcontainers.DockerContainer, string) {
		t.Helper()
		ctr, err := testcontainers.Run(ctx, image(),
			testcontainers.WithCmd(append([]string{"serve", "--data-dir=/data"}, args...)...),
			testcontainers.WithEnv(map[string]string{"KUBEDESK_INTERNAL_TOKEN": token}),
			testcontainers.WithExposedPorts(httpPort),
			network.WithNetwork([]string{alias}, nw),
			waitReady(),
		)
		if ctr != nil {
			t.Cleanup(func() {
				if t.Failed() {
					dumpLogs(os.Stderr, ctr, alias)
				}
				if err := ctr.Terminate(context.Background()); err != nil {
					t.Logf("remove the %s container: %v", alias, err)
				}
			})
		}
		if err != nil {
			t.Fatalf("start %s %v and wait for /readyz: %v", image(), args, err)
		}
		url, err := ctr.PortEndpoint(ctx, httpPort, "http")
		if err != nil {
			t.Fatal(err)
		}
		return ctr, url
	}
	// The ticket service asks the gateway's identity module about every
	// credential it is sent.
	_, backend := run("ticket", "--target=ticket", "--services=iam=gateway:9090")
	gwCtr, gateway := run("gateway", "--target=gateway", "--services=ticket=ticket:9090")
	if err := trustAdminKey(ctx, gwCtr, gateway); err != nil {
		t.Fatal(err)
	}

	// The ticket container serves probes, no REST.
	if status, raw, _ := do(t, http.MethodGet, backend+"/v1/tickets", http.Header{"Authorization": {""}}, nil); status != http.StatusNotFound {
		t.Errorf("GET /v1/tickets on the ticket container: %d %s, want 404", status, raw)
	}
	status, raw, _ := do(t, http.MethodPost, gateway+"/v1/tickets", nil, map[string]any{"subject": "拆开部署：网关和工单服务各一个容器"})
	if status != http.StatusOK {
		t.Fatalf("POST /v1/tickets through the gateway: %d %s", status, raw)
	}
	var created ticket
	decode(t, raw, &created)
	status, raw, _ = do(t, http.MethodGet, gateway+"/v1/tickets/"+created.ID, nil, nil)
	var got ticket
	decode(t, raw, &got)
	if status != http.StatusOK || got.Subject != "拆开部署：网关和工单服务各一个容器" {
		t.Errorf("GET the ticket back: %d, subject %q", status, got.Subject)
	}
}
