// Package testenv runs a real kube-apiserver and etcd (controller-runtime's
// envtest) with kubedesk's CRDs installed, for the operator's tests.
//
// Start it once per test binary, in TestMain, and fail (never skip) when it
// cannot start:
//
//	var env *testenv.Env
//
//	func TestMain(m *testing.M) {
//		var err error
//		if env, err = testenv.Start(); err != nil {
//			fmt.Fprintln(os.Stderr, err)
//			os.Exit(1)
//		}
//		code := m.Run()
//		if err := env.Stop(); err != nil {
//			fmt.Fprintln(os.Stderr, err)
//			code = 1
//		}
//		os.Exit(code)
//	}
//
// The binaries come from $KUBEBUILDER_ASSETS when it is set, else from
// bin/k8s at the repository root, where
// `hack/install-envtest-binaries.sh bin/k8s` puts them. The CRDs are
// operator/config/crd/bases, as `make generate` writes them.
package testenv

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/kubedesk/kubedesk/operator/api/v1alpha1"
)

// Env is a running API server with kubedesk's CRDs installed.
type Env struct {
	// Config reaches the API server as a cluster admin.
	Config *rest.Config
	// Client is a direct (uncached) client whose scheme knows the
	// built-in types and kubedesk.io/v1alpha1; Client.Scheme() is the
	// scheme to give a controller manager.
	Client client.Client
	// Stop stops the API server and etcd and removes their data.
	Stop func() error
}

// startTimeout bounds each of etcd's and the API server's start; a cold
// start on two busy cores takes several seconds, envtest's default of 20 s
// is tight. KUBEBUILDER_CONTROLPLANE_START_TIMEOUT overrides it.
const startTimeout = 90 * time.Second

// Start starts etcd and kube-apiserver, installs the CRDs and waits until
// they are served. The error says what to do when the binaries are missing.
func Start() (*Env, error) {
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	bins, err := binDir(root)
	if err != nil {
		return nil, err
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, fmt.Errorf("testenv: %w", err)
	}
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		return nil, fmt.Errorf("testenv: %w", err)
	}

	te := &envtest.Environment{
		Scheme:                scheme,
		CRDDirectoryPaths:     []string{filepath.Join(root, "operator", "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
	}
	// Keep the last lines the servers print, to explain a failed start.
	apiOut, etcdOut := &tail{max: 8 << 10}, &tail{max: 2 << 10}
	apiServer := te.ControlPlane.GetAPIServer()
	apiServer.Path = filepath.Join(bins, "kube-apiserver")
	apiServer.Out, apiServer.Err = apiOut, apiOut
	te.ControlPlane.Etcd = &envtest.Etcd{Path: filepath.Join(bins, "etcd"), Out: etcdOut, Err: etcdOut}
	if os.Getenv("KUBEBUILDER_CONTROLPLANE_START_TIMEOUT") == "" {
		te.ControlPlaneStartTimeout = startTimeout
	}

	cfg, err := te.Start()
	if err != nil {
		stopErr := te.Stop()
		return nil, errors.Join(fmt.Errorf("testenv: starting etcd and kube-apiserver from %s: %w\nkube-apiserver's last output:\n%s\netcd's last output:\n%s",
			bins, err, apiOut, etcdOut), stopErr)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, errors.Join(fmt.Errorf("testenv: %w", err), te.Stop())
	}
	return &Env{Config: cfg, Client: c, Stop: te.Stop}, nil
}

// repoRoot is the nearest directory above the working directory (a test's
// package directory) that holds go.work.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("testenv: %w", err)
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.work")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("testenv: no go.work in %s or above it; run the tests inside the kubedesk repository", dir)
		}
	}
}

// binDir is the directory holding kube-apiserver and etcd.
func binDir(root string) (string, error) {
	dir, from := filepath.Join(root, "bin", "k8s"), "the default <repository>/bin/k8s"
	if d := os.Getenv("KUBEBUILDER_ASSETS"); d != "" {
		dir, from = d, "KUBEBUILDER_ASSETS"
	}
	var missing []string
	for _, name := range []string{"kube-apiserver", "etcd"} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return "", fmt.Errorf("testenv: %v not found (or not executable) in %s (%s); build them with `hack/install-envtest-binaries.sh bin/k8s` at the repository root %s, or set KUBEBUILDER_ASSETS to a directory holding kube-apiserver and etcd",
			missing, dir, from, root)
	}
	return dir, nil
}

// tail is an io.Writer that keeps the last max bytes written to it.
type tail struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

// String returns the kept output from its first whole line on.
func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.buf
	if len(b) == t.max {
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return "  (nothing)\n"
	}
	return string(b)
}
