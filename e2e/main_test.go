package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"
)

const (
	// defaultImage is what `make images` builds.
	defaultImage = "kubedesk:dev"
	httpPort     = "8080/tcp"
	grpcPort     = "9090/tcp"
	smtpPort     = "2525/tcp"
	// nonroot is the uid and gid the image runs as (distroless' nonroot);
	// nonrootID is the same as text.
	nonroot   = 65532
	nonrootID = "65532"
	// startupTimeout bounds the wait for /readyz: the all-in-one target
	// migrates its stores and starts an embedded Temporal server first.
	startupTimeout = 3 * time.Minute
	makeImages     = "run `make images` first"
)

// image is the image under test; KUBEDESK_E2E_IMAGE overrides it.
func image() string {
	if img := os.Getenv("KUBEDESK_E2E_IMAGE"); img != "" {
		return img
	}
	return defaultImage
}

func TestMain(m *testing.M) {
	// Ryuk, testcontainers' reaper, is an image that cannot be pulled here;
	// the Makefile disables it too, and the tests remove their container.
	if err := os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true"); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	code := m.Run()
	if code != 0 {
		shared.dumpLogs(os.Stderr)
	}
	shared.terminate()
	os.Exit(code)
}

// dockerClient returns a client of the Docker daemon, failing the test (not
// skipping it) when the daemon or the image under test is missing.
func dockerClient(t *testing.T) *testcontainers.DockerClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err == nil {
		t.Cleanup(func() { cli.Close() })
		_, err = cli.Ping(ctx, client.PingOptions{})
	}
	if err != nil {
		t.Fatalf("Docker is not reachable: %v; the e2e tests need a Docker daemon and the %s image: start dockerd, then %s", err, image(), makeImages)
	}
	if _, err := cli.ImageInspect(ctx, image()); err != nil {
		if cerrdefs.IsNotFound(err) {
			t.Fatalf("image %s does not exist: %s", image(), makeImages)
		}
		t.Fatalf("inspect image %s: %v (%s)", image(), err, makeImages)
	}
	return cli
}

// server is the one kubedesk container the tests share: started by the
// first test that needs it, removed by TestMain.
var shared server

type server struct {
	once sync.Once
	ctr  *testcontainers.DockerContainer
	url  string // http://host:port of 8080/tcp
	err  error
}

// kubedesk returns the running container and its base URL, starting it on
// first use with the image's default command (serve --target=all) and
// waiting until /readyz answers 200.
func kubedesk(t *testing.T) (*testcontainers.DockerContainer, string) {
	t.Helper()
	cli := dockerClient(t) // fails with "run make images" when there is nothing to start
	shared.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), startupTimeout+30*time.Second)
		defer cancel()
		if err := pinPublishedHost(ctx, cli); err != nil {
			shared.err = err
			return
		}
		shared.ctr, shared.err = testcontainers.Run(ctx, image(),
			testcontainers.WithExposedPorts(httpPort, grpcPort),
			waitReady(),
		)
		if shared.err != nil {
			shared.err = fmt.Errorf("start %s and wait for /readyz: %w", image(), shared.err)
			return
		}
		shared.url, shared.err = shared.ctr.PortEndpoint(ctx, httpPort, "http")
		if shared.err == nil {
			shared.err = trustAdminKey(ctx, shared.ctr, shared.url)
		}
	})
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.ctr, shared.url
}

// adminKeys are the admin API keys of the running containers, by base URL:
// do sends the one of the container it calls.
var adminKeys sync.Map

// trustAdminKey reads the admin API key the container's first start wrote
// to /data/admin.key, as a person following the README does, and lets do
// use it for requests to base.
func trustAdminKey(ctx context.Context, ctr *testcontainers.DockerContainer, base string) error {
	rc, err := ctr.CopyFileFromContainer(ctx, "/data/admin.key")
	if err != nil {
		return fmt.Errorf("read /data/admin.key: %w", err)
	}
	defer rc.Close()
	raw, err := io.ReadAll(rc)
	if err != nil {
		return fmt.Errorf("read /data/admin.key: %w", err)
	}
	key := strings.TrimSpace(string(raw))
	if !strings.HasPrefix(key, "kd_") {
		return fmt.Errorf("/data/admin.key holds no API key (%d bytes)", len(raw))
	}
	adminKeys.Store(base, key)
	return nil
}

// waitReady waits, up to startupTimeout, for a container's /readyz to
// answer 200.
func waitReady() testcontainers.CustomizeRequestOption {
	return testcontainers.WithWaitStrategyAndDeadline(startupTimeout,
		wait.ForHTTP("/readyz").
			WithPort(httpPort).
			WithStatusCodeMatcher(func(status int) bool { return status == 200 }).
			WithPollInterval(250*time.Millisecond).
			WithStartupTimeout(startupTimeout),
	)
}

// pinPublishedHost tells testcontainers where published ports are reachable
// when it would guess wrong. Seeing /.dockerenv, it assumes the tests run in
// a container next to the daemon and dials the default gateway; on a CI
// machine that is itself a container running its own dockerd, the ports are
// on this host. The daemon shares our network namespace exactly when the
// gateway of its bridge network is one of our addresses: then 127.0.0.1 is
// right. TESTCONTAINERS_HOST_OVERRIDE, when set, wins.
func pinPublishedHost(ctx context.Context, cli *testcontainers.DockerClient) error {
	if _, ok := os.LookupEnv("TESTCONTAINERS_HOST_OVERRIDE"); ok {
		return nil
	}
	bridge, err := cli.NetworkInspect(ctx, "bridge", client.NetworkInspectOptions{})
	if err != nil {
		return nil // no default bridge: leave the choice to testcontainers
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return fmt.Errorf("list local addresses: %w", err)
	}
	for _, cfg := range bridge.Network.IPAM.Config {
		gateway := cfg.Gateway
		if !gateway.IsValid() && cfg.Subnet.IsValid() {
			// API 1.41 leaves the default bridge's gateway out: it is the
			// subnet's first address.
			gateway = cfg.Subnet.Masked().Addr().Next()
		}
		for _, a := range addrs {
			if p, err := netip.ParsePrefix(a.String()); err == nil && gateway.IsValid() && p.Addr() == gateway {
				return os.Setenv("TESTCONTAINERS_HOST_OVERRIDE", "127.0.0.1")
			}
		}
	}
	return nil
}

// dumpLogs writes the shared container's output, for a failed run.
func (s *server) dumpLogs(w io.Writer) {
	if s.ctr != nil {
		dumpLogs(w, s.ctr, image())
	}
}

// dumpLogs writes a container's output to w, between markers naming it.
func dumpLogs(w io.Writer, ctr *testcontainers.DockerContainer, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	logs, err := ctr.Logs(ctx)
	if err != nil {
		fmt.Fprintf(w, "e2e: logs of the %s container: %v\n", name, err)
		return
	}
	defer logs.Close()
	fmt.Fprintf(w, "----- logs of the %s container -----\n", name)
	_, _ = io.Copy(w, logs)
	fmt.Fprintf(w, "----- end of logs -----\n")
}

func (s *server) terminate() {
	if s.ctr == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.ctr.Terminate(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: remove container %s: %v\n", s.ctr.GetContainerID(), err)
	}
}
