package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/kubedesk/kubedesk/operator/api/v1alpha1"
	"github.com/kubedesk/kubedesk/operator/internal/procmem"
	"github.com/kubedesk/kubedesk/operator/internal/testenv"
)

// BenchmarkManagerProcess runs the kubedesk-operator binary, built as the
// image builds it (static, stripped), as a process of its own against a real
// API server, creates 200 tenants with an SLA policy each, waits until it
// has reconciled them all, and reports its resident set (VmRSS from
// /proc/<pid>/status): the manager alone, without a test client beside it.
//
//	go test -run '^$' -bench ManagerProcess -benchtime 1x ./operator/cmd/kubedesk-operator
func BenchmarkManagerProcess(b *testing.B) {
	const tenants = 200
	log.SetLogger(logr.Discard())
	env, err := testenv.Start()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := env.Stop(); err != nil {
			b.Error(err)
		}
	})
	ctx := context.Background()
	c := env.Client
	widenServiceRange(b, c)

	dir := b.TempDir()
	bin := filepath.Join(dir, "kubedesk-operator")
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := writeKubeconfig(env.Config, kubeconfig); err != nil {
		b.Fatal(err)
	}

	for b.Loop() {
		proc := exec.Command(bin, "--kubeconfig="+kubeconfig, "--metrics-bind-address=0", "--health-probe-bind-address=0", "--zap-log-level=error")
		proc.Stderr = os.Stderr
		if err := proc.Start(); err != nil {
			b.Fatal(err)
		}
		idle := waitRSS(b, proc.Process.Pid, 2*time.Second)

		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "bench-"}}
		if err := c.Create(ctx, ns); err != nil {
			b.Fatal(err)
		}
		secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "db"}, StringData: map[string]string{"url": "postgres://x"}}
		if err := c.Create(ctx, secret); err != nil {
			b.Fatal(err)
		}
		begin := time.Now()
		for i := range tenants {
			name := fmt.Sprintf("t%03d", i)
			t := &v1alpha1.HelpdeskTenant{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: name},
				Spec: v1alpha1.HelpdeskTenantSpec{
					Database: v1alpha1.DatabaseSpec{Postgres: &v1alpha1.PostgresDatabase{URLSecretRef: v1alpha1.SecretKeySelector{Name: "db", Key: "url"}}},
					Temporal: v1alpha1.TemporalSpec{Address: "temporal:7233"},
				},
			}
			p := &v1alpha1.SLAPolicy{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: name},
				Spec: v1alpha1.SLAPolicySpec{
					TenantRef: v1alpha1.LocalObjectReference{Name: name},
					Targets:   []v1alpha1.SLATarget{{Priority: "P1", Resolution: &metav1.Duration{Duration: 4 * time.Hour}}},
				},
			}
			if err := c.Create(ctx, t); err != nil {
				b.Fatal(err)
			}
			if err := c.Create(ctx, p); err != nil {
				b.Fatal(err)
			}
		}
		deadline := time.Now().Add(10 * time.Minute)
		for {
			var list v1alpha1.HelpdeskTenantList
			if err := c.List(ctx, &list, client.InNamespace(ns.Name)); err != nil {
				b.Fatal(err)
			}
			done := 0
			for _, t := range list.Items {
				if t.Status.ObservedGeneration == t.Generation && t.Status.ComponentsReady != "" {
					done++
				}
			}
			if done == tenants {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("%d of %d tenants reconciled after 10 minutes", done, tenants)
			}
			time.Sleep(100 * time.Millisecond)
		}
		elapsed := time.Since(begin)
		loaded := waitRSS(b, proc.Process.Pid, 2*time.Second)
		if err := proc.Process.Signal(os.Interrupt); err != nil {
			b.Fatal(err)
		}
		if err := proc.Wait(); err != nil {
			b.Errorf("the manager exited with %v after SIGINT", err)
		}
		b.ReportMetric(float64(idle["VmRSS"])/(1<<20), "MB-rss-idle")
		b.ReportMetric(float64(loaded["VmRSS"])/(1<<20), "MB-rss-200-tenants")
		b.ReportMetric(float64(loaded["RssAnon"])/(1<<20), "MB-rss-anon-200-tenants")
		b.ReportMetric(elapsed.Seconds(), "s-200-tenants")
		b.Logf("kubedesk-operator process: RSS %.1f MB idle, %.1f MB (%.1f MB anonymous) with %d tenants, %d owned objects; reconciled in %s",
			float64(idle["VmRSS"])/(1<<20), float64(loaded["VmRSS"])/(1<<20), float64(loaded["RssAnon"])/(1<<20), tenants, 7*tenants, elapsed.Round(time.Millisecond))
	}
	b.ReportMetric(0, "ns/op")
}

// waitRSS lets the process settle for a while and reads its memory.
func waitRSS(b *testing.B, pid int, settle time.Duration) map[string]int64 {
	b.Helper()
	time.Sleep(settle)
	st, err := procmem.Status(strconv.Itoa(pid))
	if err != nil {
		b.Fatal(err)
	}
	return st
}

// writeKubeconfig writes a kubeconfig file reaching cfg's API server with
// its client certificate.
func writeKubeconfig(cfg *rest.Config, path string) error {
	kc := clientcmdapi.NewConfig()
	kc.Clusters["envtest"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["admin"] = &clientcmdapi.AuthInfo{ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData, Token: cfg.BearerToken}
	kc.Contexts["envtest"] = &clientcmdapi.Context{Cluster: "envtest", AuthInfo: "admin"}
	kc.CurrentContext = "envtest"
	return clientcmd.WriteToFile(*kc, path)
}

// widenServiceRange adds a /16 of ClusterIPs: envtest's API server
// allocates from a /24 (254 addresses), fewer than 200 tenants' 600
// Services. kube-controller-manager, which envtest does not run, would
// mark the range ready; the benchmark does.
func widenServiceRange(b *testing.B, c client.Client) {
	b.Helper()
	ctx := context.Background()
	cidr := &networkingv1.ServiceCIDR{
		ObjectMeta: metav1.ObjectMeta{Name: "kubedesk-bench"},
		Spec:       networkingv1.ServiceCIDRSpec{CIDRs: []string{"10.128.0.0/16"}},
	}
	if err := c.Create(ctx, cidr); err != nil {
		b.Fatal(err)
	}
	meta.SetStatusCondition(&cidr.Status.Conditions, metav1.Condition{
		Type: networkingv1.ServiceCIDRConditionReady, Status: metav1.ConditionTrue, Reason: "Benchmark", Message: "ready"})
	if err := c.Status().Update(ctx, cidr); err != nil {
		b.Fatal(err)
	}
}
