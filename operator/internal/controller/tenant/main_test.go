package tenant_test

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/yaml"

	"github.com/kubedesk/kubedesk/operator/internal/controller"
	"github.com/kubedesk/kubedesk/operator/internal/testenv"
)

var (
	// env is the API server every test of the package talks to.
	env *testenv.Env
	// k8s is a direct client: the tests' view is never a stale cache.
	k8s client.Client
	// writes counts the manager's write requests to the API server.
	writes = &requestLog{}
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

// run starts the API server and, in this process, a manager with every
// reconciler (HelpdeskTenant, SLAPolicy, RoutingRule), as the
// kubedesk-operator binary sets them up. The manager logs to stderr with
// KUBEDESK_TEST_LOG=1.
func run(m *testing.M) int {
	// The logger can be set once.
	logger := logr.Discard()
	if os.Getenv("KUBEDESK_TEST_LOG") != "" {
		logger = zap.New(zap.UseDevMode(true), zap.WriteTo(os.Stderr))
	}
	log.SetLogger(logger)
	start := time.Now()
	var err error
	if env, err = testenv.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "testenv: etcd and kube-apiserver up, CRDs served after %s\n", time.Since(start).Round(time.Millisecond))
	k8s = env.Client

	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	if err := startManager(ctx, stopped); err != nil {
		fmt.Fprintln(os.Stderr, "manager:", err)
		cancel()
		_ = env.Stop()
		return 1
	}
	code := m.Run()
	cancel()
	if err := <-stopped; err != nil {
		fmt.Fprintln(os.Stderr, "manager:", err)
		code = 1
	}
	if err := env.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "testenv: stopping:", err)
		code = 1
	}
	return code
}

// operatorUser is who the manager runs as: the ServiceAccount the Helm
// chart creates, bound to config/rbac/role.yaml only, so every test also
// checks that the RBAC markers grant what the reconcilers do.
const operatorUser = "system:serviceaccount:kubedesk-system:kubedesk-operator"

func startManager(ctx context.Context, stopped chan<- error) error {
	if err := bindGeneratedRole(ctx); err != nil {
		return err
	}
	cfg := rest.CopyConfig(env.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: operatorUser, Groups: []string{"system:serviceaccounts", "system:authenticated"}}
	cfg.WrapTransport = writes.wrap
	opts := manager.Options{
		Scheme:                 env.Client.Scheme(),
		Cache:                  controller.CacheOptions(nil),
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
	}
	mgr, err := ctrl.NewManager(cfg, opts)
	if err != nil {
		return err
	}
	if err := controller.Setup(ctx, mgr, controller.Options{}); err != nil {
		return err
	}
	go func() { stopped <- mgr.Start(ctx) }()
	syncCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if !mgr.GetCache().WaitForCacheSync(syncCtx) {
		return fmt.Errorf("the manager's cache did not sync")
	}
	return nil
}

// bindGeneratedRole creates the ClusterRole controller-gen generates from
// the RBAC markers (config/rbac/role.yaml) and binds operatorUser to it.
func bindGeneratedRole(ctx context.Context) error {
	data, err := os.ReadFile(filepath.Join("..", "..", "..", "config", "rbac", "role.yaml"))
	if err != nil {
		return err
	}
	var role rbacv1.ClusterRole
	if err := yaml.UnmarshalStrict(data, &role); err != nil {
		return fmt.Errorf("config/rbac/role.yaml: %w", err)
	}
	if err := k8s.Create(ctx, &role); err != nil {
		return err
	}
	return k8s.Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: role.Name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: "kubedesk-system", Name: "kubedesk-operator"}},
	})
}

// requestLog counts write requests (POST, PUT, PATCH, DELETE) by method and
// resource, e.g. "PATCH deployments" or "PATCH helpdesktenants/status".
type requestLog struct {
	mu     sync.Mutex
	counts map[string]int
}

func (l *requestLog) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripper(func(req *http.Request) (*http.Response, error) {
		if req.Method != http.MethodGet {
			l.mu.Lock()
			if l.counts == nil {
				l.counts = map[string]int{}
			}
			l.counts[req.Method+" "+resourceOf(req.URL.Path)]++
			l.mu.Unlock()
		}
		return rt.RoundTrip(req)
	})
}

// snapshot returns the counts so far.
func (l *requestLog) snapshot() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return maps.Clone(l.counts)
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// resourceOf reads the resource (and subresource) from an API path such as
// /apis/apps/v1/namespaces/acme/deployments/acme-ticket/status.
func resourceOf(path string) string {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	for i, p := range parts {
		if p == "namespaces" && i+2 < len(parts) {
			rest := parts[i+2:]
			switch len(rest) {
			case 1, 2:
				return rest[0]
			default:
				return rest[0] + "/" + rest[2]
			}
		}
	}
	return path
}
