package charts

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/kubedesk/kubedesk/operator/internal/testenv"
)

const (
	operatorChart = "kubedesk-operator"
	tenantChart   = "kubedesk"
	// operatorNamespace is where the operator chart is installed; the
	// release name equals the chart name, so objects are named
	// kubedesk-operator.
	operatorNamespace = "kubedesk-system"
)

var (
	repoRoot string   // the clone: holds go.work, bin/, charts/
	helmBin  string   // repoRoot/bin/helm
	helmEnv  []string // the environment helm runs in: HELM_* homes in a temporary directory
	env      *testenv.Env
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	fail := func(format string, args ...any) int {
		fmt.Fprintf(os.Stderr, "charts: "+format+"\n", args...)
		return 1
	}
	var err error
	if repoRoot, err = findRepoRoot(); err != nil {
		return fail("%v", err)
	}
	helmBin = filepath.Join(repoRoot, "bin", "helm")
	if _, err := os.Stat(helmBin); err != nil {
		return fail("no helm at %s (%v): build it with `hack/install-helm.sh bin` in %s", helmBin, err, repoRoot)
	}
	home, err := os.MkdirTemp("", "kubedesk-charts-")
	if err != nil {
		return fail("%v", err)
	}
	defer os.RemoveAll(home)
	// helm template and lint need no cluster; an empty kubeconfig makes
	// sure they cannot reach one by accident.
	kubeconfig := filepath.Join(home, "kubeconfig")
	if err := os.WriteFile(kubeconfig, nil, 0o600); err != nil {
		return fail("%v", err)
	}
	helmEnv = append(os.Environ(),
		"HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"),
		"HELM_DATA_HOME="+filepath.Join(home, "data"),
		"KUBECONFIG="+kubeconfig,
	)

	if env, err = testenv.Start(); err != nil {
		return fail("start the API server: %v", err)
	}
	code := m.Run()
	if err := env.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "charts: stop the API server: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// findRepoRoot walks up from the working directory to the folder with
// go.work.
func findRepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.work")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no go.work in %s or above: run the test inside the kubedesk clone", dir)
		}
	}
}

// helm runs bin/helm in the repository root and returns its standard
// output; on failure the error holds its standard error.
func helm(args ...string) (string, error) {
	cmd := exec.Command(helmBin, args...)
	cmd.Dir = repoRoot
	cmd.Env = helmEnv
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("helm %s: %w\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String(), nil
}

// release is one `helm template` of a chart.
type release struct {
	chart, name, namespace string
	values                 []string // --set, --set-json, ... arguments
}

func (r release) template(extra ...string) (string, error) {
	args := append([]string{"template", r.name, filepath.Join("charts", r.chart), "--namespace", r.namespace}, extra...)
	return helm(append(args, r.values...)...)
}

// render templates the release, CRDs included, and decodes its objects.
func (r release) render(t *testing.T) objects {
	t.Helper()
	out, err := r.template("--include-crds")
	if err != nil {
		t.Fatal(err)
	}
	objs, err := decode(out)
	if err != nil {
		t.Fatalf("decode the output of helm template %s: %v", r.chart, err)
	}
	return objs
}

// decode splits multi-document YAML into objects, dropping empty documents.
func decode(manifests string) ([]*unstructured.Unstructured, error) {
	var objs []*unstructured.Unstructured
	r := utilyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(manifests)))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, err
		}
		var m map[string]any
		if err := yaml.Unmarshal(doc, &m); err != nil {
			return nil, fmt.Errorf("%w in\n%s", err, doc)
		}
		if len(m) == 0 {
			continue
		}
		u := &unstructured.Unstructured{Object: m}
		if u.GetAPIVersion() == "" || u.GetKind() == "" || u.GetName() == "" {
			return nil, fmt.Errorf("a document without apiVersion, kind or metadata.name:\n%s", doc)
		}
		objs = append(objs, u)
	}
}

// objects is a chart's rendered output.
type objects []*unstructured.Unstructured

func (objs objects) ofKind(kind string) objects {
	var out objects
	for _, o := range objs {
		if o.GetKind() == kind {
			out = append(out, o)
		}
	}
	return out
}

// one returns the single object of kind named name, failing the test when
// there is not exactly one.
func (objs objects) one(t *testing.T, kind, namespace, name string) *unstructured.Unstructured {
	t.Helper()
	var found []*unstructured.Unstructured
	for _, o := range objs.ofKind(kind) {
		if o.GetNamespace() == namespace && o.GetName() == name {
			found = append(found, o)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want one %s %s/%s, found %d among %s", kind, namespace, name, len(found), objs)
	}
	return found[0]
}

func (objs objects) String() string {
	names := make([]string, len(objs))
	for i, o := range objs {
		names[i] = o.GetKind() + " " + o.GetNamespace() + "/" + o.GetName()
	}
	return "[" + strings.Join(names, ", ") + "]"
}

// field returns the value at path in o, or nil.
func field(o map[string]any, path ...string) any {
	v, _, _ := unstructured.NestedFieldNoCopy(o, path...)
	return v
}

func strs(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, s := range list {
		out = append(out, fmt.Sprint(s))
	}
	return out
}

func maps(v any) []map[string]any {
	list, _ := v.([]any)
	out := make([]map[string]any, 0, len(list))
	for _, m := range list {
		if m, ok := m.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

func TestLint(t *testing.T) {
	for _, chart := range []string{operatorChart, tenantChart} {
		t.Run(chart, func(t *testing.T) {
			if _, err := helm("lint", "--strict", filepath.Join("charts", chart)); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestCRDsMatchGenerated: the chart ships the CRDs controller-gen writes,
// byte for byte.
func TestCRDsMatchGenerated(t *testing.T) {
	generated := filepath.Join(repoRoot, "operator", "config", "crd", "bases")
	shipped := filepath.Join(repoRoot, "charts", operatorChart, "crds")
	names := func(dir string) []string {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range entries {
			if !e.IsDir() && strings.HasSuffix(e.Name(), ".yaml") {
				out = append(out, e.Name())
			}
		}
		return out
	}
	want, got := names(generated), names(shipped)
	if len(want) == 0 {
		t.Fatalf("no CRDs in %s", generated)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("charts/%s/crds holds %v, operator/config/crd/bases %v: run hack/sync-chart-crds.sh", operatorChart, got, want)
	}
	for _, name := range want {
		a, err := os.ReadFile(filepath.Join(generated, name))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(shipped, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("charts/%s/crds/%s differs from operator/config/crd/bases/%s: run hack/sync-chart-crds.sh", operatorChart, name, name)
		}
	}
}

// checkOperator holds for every rendering of the operator chart: least
// privilege RBAC and a locked-down manager container.
func checkOperator(t *testing.T, objs objects, r release) {
	t.Helper()
	for _, kind := range []string{"ClusterRole", "Role"} {
		for _, role := range objs.ofKind(kind) {
			for i, rule := range maps(field(role.Object, "rules")) {
				where := fmt.Sprintf("%s %s/%s rules[%d]", kind, role.GetNamespace(), role.GetName(), i)
				groups, resources, verbs := strs(rule["apiGroups"]), strs(rule["resources"]), strs(rule["verbs"])
				for _, list := range [][]string{groups, resources, verbs} {
					if slices.Contains(list, "*") {
						t.Errorf("%s: wildcard in apiGroups %q, resources %q, verbs %q", where, groups, resources, verbs)
					}
				}
				if rule["nonResourceURLs"] != nil || rule["resourceNames"] != nil {
					t.Errorf("%s: unexpected nonResourceURLs or resourceNames", where)
				}
				if slices.Contains(groups, "") && slices.Contains(resources, "secrets") {
					// Read, and create or add a key to a tenant's
					// credentials Secret; never replace or delete one.
					for _, v := range verbs {
						if !slices.Contains([]string{"get", "list", "watch", "create", "patch"}, v) {
							t.Errorf("%s: secrets may only be read, created and patched, but the rule grants %q", where, v)
						}
					}
				}
				if slices.Contains(resources, "leases") {
					if kind != "Role" || role.GetNamespace() != r.namespace {
						t.Errorf("%s: leases belong in a Role in the release namespace %s", where, r.namespace)
					}
				}
			}
		}
	}

	deploy := objs.one(t, "Deployment", r.namespace, r.name)
	pod := field(deploy.Object, "spec", "template", "spec").(map[string]any)
	if field(pod, "securityContext", "runAsNonRoot") != true {
		t.Errorf("Deployment: spec.template.spec.securityContext.runAsNonRoot = %v, want true", field(pod, "securityContext", "runAsNonRoot"))
	}
	containers := maps(pod["containers"])
	if len(containers) != 1 {
		t.Fatalf("Deployment: %d containers, want 1", len(containers))
	}
	c := containers[0]
	for path, want := range map[string]any{
		"securityContext.readOnlyRootFilesystem":   true,
		"securityContext.allowPrivilegeEscalation": false,
		"livenessProbe.httpGet.path":               "/healthz",
		"readinessProbe.httpGet.path":              "/readyz",
	} {
		if got := field(c, strings.Split(path, ".")...); got != want {
			t.Errorf("Deployment: containers[0].%s = %v, want %v", path, got, want)
		}
	}
	if drop := strs(field(c, "securityContext", "capabilities", "drop")); !slices.Contains(drop, "ALL") {
		t.Errorf("Deployment: containers[0].securityContext.capabilities.drop = %v, want ALL", drop)
	}
	if sa := field(pod, "serviceAccountName"); sa != r.name {
		t.Errorf("Deployment: serviceAccountName = %v, want %s", sa, r.name)
	}
}

// args returns the manager container's arguments.
// checkRulesMatchGenerated checks that the chart grants the manager what
// the RBAC markers generate (operator/config/rbac/role.yaml, which the
// envtest suites run under), no more and no less: the chart keeps a copy
// of the rules, which nothing regenerates.
func checkRulesMatchGenerated(t *testing.T, rules []map[string]any) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "operator", "config", "rbac", "role.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var generated map[string]any
	if err := yaml.Unmarshal(data, &generated); err != nil {
		t.Fatal(err)
	}
	// grants lists a rule set as group/resource verb, one a line.
	grants := func(rules []map[string]any) []string {
		var out []string
		for _, rule := range rules {
			for _, g := range strs(rule["apiGroups"]) {
				for _, res := range strs(rule["resources"]) {
					for _, v := range strs(rule["verbs"]) {
						out = append(out, g+"/"+res+" "+v)
					}
				}
			}
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	want, got := grants(maps(generated["rules"])), grants(rules)
	missing := slices.DeleteFunc(slices.Clone(want), func(g string) bool { return slices.Contains(got, g) })
	extra := slices.DeleteFunc(slices.Clone(got), func(g string) bool { return slices.Contains(want, g) })
	if len(missing)+len(extra) > 0 {
		t.Errorf("charts/%s/templates/_helpers.tpl managerRules differ from config/rbac/role.yaml (the RBAC markers): missing %q, extra %q",
			operatorChart, missing, extra)
	}
}

func args(t *testing.T, objs objects, r release) []string {
	t.Helper()
	deploy := objs.one(t, "Deployment", r.namespace, r.name)
	return strs(field(maps(field(deploy.Object, "spec", "template", "spec", "containers"))[0], "args"))
}

func wantArgs(t *testing.T, got []string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("manager args %q lack %q", got, w)
		}
	}
}

func TestOperatorTemplate(t *testing.T) {
	tests := []struct {
		name   string
		values []string
		// errs are substrings of helm's error; empty means it must succeed.
		errs  []string
		check func(t *testing.T, objs objects, r release)
	}{{
		name: "defaults: cluster-wide",
		check: func(t *testing.T, objs objects, r release) {
			role := objs.one(t, "ClusterRole", "", r.name+"-manager")
			checkRulesMatchGenerated(t, maps(field(role.Object, "rules")))
			objs.one(t, "ClusterRoleBinding", "", r.name+"-manager")
			objs.one(t, "Role", r.namespace, r.name+"-leader-election")
			objs.one(t, "ServiceAccount", r.namespace, r.name)
			objs.one(t, "Service", r.namespace, r.name+"-metrics")
			if n := len(objs.ofKind("Role")); n != 1 {
				t.Errorf("%d Roles, want only the leader election one", n)
			}
			if n := len(objs.ofKind("CustomResourceDefinition")); n < 1 {
				t.Errorf("no CRDs rendered")
			}
			got := args(t, objs, r)
			wantArgs(t, got, "--leader-elect=true", "--leader-election-namespace="+r.namespace,
				"--metrics-bind-address=:8080", "--health-probe-bind-address=:8081", "--zap-log-level=info")
			for _, a := range got {
				if strings.HasPrefix(a, "--namespaces") {
					t.Errorf("manager args %q: %s although every namespace is watched", got, a)
				}
			}
			d := objs.one(t, "Deployment", r.namespace, r.name)
			if img := field(maps(field(d.Object, "spec", "template", "spec", "containers"))[0], "image"); img != "kubedesk-operator:dev" {
				t.Errorf("image %v, want kubedesk-operator:dev", img)
			}
		},
	}, {
		name:   "watchNamespaces: a Role per namespace, nothing cluster-wide",
		values: []string{"--set-json", `watchNamespaces=["team-a","team-b"]`},
		check: func(t *testing.T, objs objects, r release) {
			if n := len(objs.ofKind("ClusterRole")) + len(objs.ofKind("ClusterRoleBinding")); n != 0 {
				t.Errorf("%d ClusterRoles and ClusterRoleBindings, want none", n)
			}
			for _, ns := range []string{"team-a", "team-b"} {
				objs.one(t, "Role", ns, r.name+"-manager")
				b := objs.one(t, "RoleBinding", ns, r.name+"-manager")
				subject := maps(field(b.Object, "subjects"))[0]
				if subject["name"] != r.name || subject["namespace"] != r.namespace {
					t.Errorf("RoleBinding %s/%s binds %v, want ServiceAccount %s/%s", ns, b.GetName(), subject, r.namespace, r.name)
				}
			}
			objs.one(t, "Role", r.namespace, r.name+"-leader-election")
			wantArgs(t, args(t, objs, r), "--namespaces=team-a,team-b")
		},
	}, {
		name:   "no leader election, no metrics",
		values: []string{"--set", "leaderElection.enabled=false,metrics.enabled=false,logLevel=debug"},
		check: func(t *testing.T, objs objects, r release) {
			if n := len(objs.ofKind("Role")) + len(objs.ofKind("Service")); n != 0 {
				t.Errorf("%d Roles and Services, want none: %s", n, objs)
			}
			got := args(t, objs, r)
			wantArgs(t, got, "--leader-elect=false", "--metrics-bind-address=0", "--zap-log-level=debug")
			if slices.ContainsFunc(got, func(a string) bool { return strings.HasPrefix(a, "--leader-election-namespace") }) {
				t.Errorf("manager args %q name a leader election namespace without leader election", got)
			}
		},
	}, {
		name:   "image by digest, existing ServiceAccount",
		values: []string{"--set", "image.repository=registry.example/kubedesk-operator,image.digest=sha256:" + strings.Repeat("ab", 32) + ",serviceAccount.create=false,serviceAccount.name=" + operatorChart},
		check: func(t *testing.T, objs objects, r release) {
			if n := len(objs.ofKind("ServiceAccount")); n != 0 {
				t.Errorf("%d ServiceAccounts, want none", n)
			}
			d := objs.one(t, "Deployment", r.namespace, r.name)
			want := "registry.example/kubedesk-operator@sha256:" + strings.Repeat("ab", 32)
			if img := field(maps(field(d.Object, "spec", "template", "spec", "containers"))[0], "image"); img != want {
				t.Errorf("image %v, want %s", img, want)
			}
		},
	}, {
		name:   "schema: watched namespace not a DNS label",
		values: []string{"--set-json", `watchNamespaces=["team-a","Team_B"]`},
		errs:   []string{"/watchNamespaces/1", "Team_B"},
	}, {
		name:   "schema: unknown key",
		values: []string{"--set", "replica=2"},
		errs:   []string{"replica"},
	}, {
		name:   "schema: pull policy",
		values: []string{"--set", "image.pullPolicy=Sometimes"},
		errs:   []string{"/image/pullPolicy", "IfNotPresent"},
	}, {
		name:   "schema: log level",
		values: []string{"--set", "logLevel=verbose"},
		errs:   []string{"/logLevel", "debug"},
	}, {
		name:   "schema: port out of range",
		values: []string{"--set", "metrics.port=70000"},
		errs:   []string{"/metrics/port", "70000"},
	}, {
		name:   "schema: replicas not a number",
		values: []string{"--set-string", "replicas=two"},
		errs:   []string{"/replicas"},
	}, {
		name:   "schema: resource quantity",
		values: []string{"--set", "resources.limits.memory=lots"},
		errs:   []string{"/resources/limits/memory", "lots"},
	}, {
		name:   "replicas without leader election",
		values: []string{"--set", "replicas=2,leaderElection.enabled=false"},
		errs:   []string{"replicas: 2 needs leaderElection.enabled: true"},
	}, {
		name:   "metrics and health on one port",
		values: []string{"--set", "metrics.port=8081"},
		errs:   []string{"metrics.port and health.port are both 8081"},
	}, {
		name:   "existing ServiceAccount without a name",
		values: []string{"--set", "serviceAccount.create=false"},
		errs:   []string{"serviceAccount.name"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := release{chart: operatorChart, name: operatorChart, namespace: operatorNamespace, values: tt.values}
			templateCase(t, r, tt.errs, func(t *testing.T, objs objects) {
				checkOperator(t, objs, r)
				tt.check(t, objs, r)
			})
		})
	}
}

// templateCase renders r; with errs it wants helm to fail with all of them
// in its message, else it runs check on the objects.
func templateCase(t *testing.T, r release, errs []string, check func(*testing.T, objects)) {
	t.Helper()
	if len(errs) > 0 {
		out, err := r.template()
		if err == nil {
			t.Fatalf("helm template %s %v succeeded, want an error naming %q; it rendered\n%s", r.chart, r.values, errs, out)
		}
		for _, e := range errs {
			if !strings.Contains(err.Error(), e) {
				t.Errorf("the error does not name %q:\n%v", e, err)
			}
		}
		return
	}
	check(t, r.render(t))
}

// spec returns the spec of o.
func spec(o *unstructured.Unstructured) map[string]any {
	s, _ := o.Object["spec"].(map[string]any)
	return s
}

func TestTenantTemplate(t *testing.T) {
	scaled := []string{
		"--set", "tenant.spec.database.postgres.urlSecretRef.name=acme-db,tenant.spec.database.postgres.urlSecretRef.key=url",
		"--set", "tenant.spec.temporal.address=temporal-frontend.temporal:7233",
		"--set", "tenant.spec.components.gateway.replicas=2,tenant.spec.components.ticket.replicas=3",
	}
	tests := []struct {
		name    string
		release string
		values  []string
		errs    []string
		check   func(t *testing.T, objs objects, r release)
	}{{
		name:    "defaults: embedded, one replica, one policy",
		release: "acme",
		check: func(t *testing.T, objs objects, r release) {
			if len(objs) != 2 {
				t.Errorf("rendered %s, want a HelpdeskTenant and an SLAPolicy", objs)
			}
			tenant := objs.one(t, "HelpdeskTenant", r.namespace, "acme")
			if tenant.GetAPIVersion() != "kubedesk.io/v1alpha1" {
				t.Errorf("HelpdeskTenant apiVersion %s", tenant.GetAPIVersion())
			}
			s := spec(tenant)
			if field(s, "database", "embedded", "storageSize") != "1Gi" || field(s, "temporal", "embedded") == nil {
				t.Errorf("want embedded database and Temporal, got database %v, temporal %v", s["database"], s["temporal"])
			}
			for _, c := range []string{"gateway", "ticket", "channel", "routing", "worker"} {
				if n := field(s, "components", c, "replicas"); fmt.Sprint(n) != "1" {
					t.Errorf("components.%s.replicas = %v, want 1", c, n)
				}
			}
			if tz := field(s, "calendar", "timeZone"); tz != "Asia/Shanghai" {
				t.Errorf("calendar.timeZone = %v", tz)
			}
			p := objs.one(t, "SLAPolicy", r.namespace, "standard")
			ps := spec(p)
			if ref := field(ps, "tenantRef", "name"); ref != "acme" {
				t.Errorf("SLAPolicy tenantRef.name = %v, want acme", ref)
			}
			var prios []string
			for _, target := range maps(ps["targets"]) {
				prios = append(prios, fmt.Sprint(target["priority"]))
			}
			if !slices.Equal(prios, []string{"P1", "P2", "P3", "P4", "P5"}) {
				t.Errorf("SLAPolicy targets for %v, want P1..P5", prios)
			}
			holidays := maps(field(ps, "calendar", "holidays"))
			if !slices.ContainsFunc(holidays, func(h map[string]any) bool { return h["name"] == "国庆节" }) {
				t.Errorf("SLAPolicy calendar holidays %v lack 国庆节", holidays)
			}
		},
	}, {
		name:    "tenant name and PostgreSQL, external Temporal, replicas, ingress",
		release: "release-1",
		values: append([]string{
			"--set", "tenant.name=globex,tenant.spec.displayName=极客科技客服中心",
			"--set", "tenant.spec.ingress.host=help.globex.example,tenant.spec.ingress.className=nginx,tenant.spec.ingress.tlsSecretName=globex-tls",
			"--set", "tenant.spec.identity.oidc.issuerURL=https://login.globex.example/realms/globex,tenant.spec.identity.oidc.audience=kubedesk",
			"--set", "tenant.spec.attachments.s3.urlSecretRef.name=globex-blobs,tenant.spec.attachments.s3.urlSecretRef.key=url",
		}, scaled...),
		check: func(t *testing.T, objs objects, r release) {
			s := spec(objs.one(t, "HelpdeskTenant", r.namespace, "globex"))
			if field(s, "attachments", "s3", "urlSecretRef", "name") != "globex-blobs" || field(s, "attachments", "s3", "urlSecretRef", "key") != "url" {
				t.Errorf("attachments = %v", s["attachments"])
			}
			if field(s, "identity", "oidc", "issuerURL") != "https://login.globex.example/realms/globex" {
				t.Errorf("identity = %v", s["identity"])
			}
			if field(s, "database", "embedded") != nil || field(s, "temporal", "embedded") != nil {
				t.Errorf("embedded kept next to postgres / address: database %v, temporal %v", s["database"], s["temporal"])
			}
			if field(s, "database", "postgres", "urlSecretRef", "name") != "acme-db" || field(s, "temporal", "address") != "temporal-frontend.temporal:7233" {
				t.Errorf("database %v, temporal %v", s["database"], s["temporal"])
			}
			if field(s, "displayName") != "极客科技客服中心" {
				t.Errorf("displayName = %v", field(s, "displayName"))
			}
			if ref := field(spec(objs.one(t, "SLAPolicy", r.namespace, "standard")), "tenantRef", "name"); ref != "globex" {
				t.Errorf("SLAPolicy tenantRef.name = %v, want globex", ref)
			}
		},
	}, {
		name:    "webhooks to private networks",
		release: "acme",
		values:  []string{"--set", "tenant.spec.channels.webhooks.allowPrivateNetworks=true"},
		check: func(t *testing.T, objs objects, r release) {
			if v := field(spec(objs.one(t, "HelpdeskTenant", r.namespace, "acme")), "channels", "webhooks", "allowPrivateNetworks"); v != true {
				t.Errorf("channels.webhooks.allowPrivateNetworks = %v, want true", v)
			}
		},
	}, {
		name:    "schema: webhooks setting not a boolean",
		release: "acme",
		values:  []string{"--set", "tenant.spec.channels.webhooks.allowPrivateNetworks=sometimes"},
		errs:    []string{"/tenant/spec/channels/webhooks/allowPrivateNetworks", "boolean"},
	}, {
		name:    "no SLA policies",
		release: "acme",
		values:  []string{"--set-json", "slaPolicies=[]"},
		check: func(t *testing.T, objs objects, r release) {
			if n := len(objs.ofKind("SLAPolicy")); n != 0 {
				t.Errorf("%d SLAPolicies, want none", n)
			}
		},
	}, {
		name:    "routing rules and the offline grace",
		release: "acme",
		values: []string{
			"--set", "tenant.spec.routing.offlineGrace=15m",
			"--set-json", `routingRules=[{"name":"vip","spec":{"order":10,"continue":true,"when":{"customerTiers":["VIP"]},"then":{"addTags":["vip"],"priorityAtLeast":"P2"}}},` +
				`{"name":"billing-zh","labels":{"team":"billing"},"spec":{"when":{"keywords":["发票","退款"]},"then":{"group":"billing","requireSkills":[{"name":"zh","minLevel":3}]}}}]`,
		},
		check: func(t *testing.T, objs objects, r release) {
			if grace := field(spec(objs.one(t, "HelpdeskTenant", r.namespace, "acme")), "routing", "offlineGrace"); grace != "15m" {
				t.Errorf("routing.offlineGrace = %v, want 15m", grace)
			}
			if n := len(objs.ofKind("RoutingRule")); n != 2 {
				t.Errorf("%d RoutingRules, want 2", n)
			}
			zh := objs.one(t, "RoutingRule", r.namespace, "billing-zh")
			if ref := field(spec(zh), "tenantRef", "name"); ref != "acme" {
				t.Errorf("RoutingRule tenantRef.name = %v, want acme", ref)
			}
			if kw := strs(field(spec(zh), "when", "keywords")); !slices.Equal(kw, []string{"发票", "退款"}) {
				t.Errorf("RoutingRule keywords = %q", kw)
			}
			if l := zh.GetLabels(); l["team"] != "billing" || l["kubedesk.io/tenant"] != "acme" {
				t.Errorf("RoutingRule labels %v", l)
			}
		},
	}, {
		name:    "no routing rules by default",
		release: "acme",
		check: func(t *testing.T, objs objects, r release) {
			if n := len(objs.ofKind("RoutingRule")); n != 0 {
				t.Errorf("%d RoutingRules, want none", n)
			}
		},
	}, {
		name:    "schema: rule without an action",
		release: "acme",
		values:  []string{"--set-json", `routingRules=[{"name":"nothing","spec":{"when":{"tags":["spam"]},"then":{}}}]`},
		errs:    []string{"/routingRules/0/spec/then", "anyOf"},
	}, {
		name:    "schema: rule group not an ID",
		release: "acme",
		values:  []string{"--set-json", `routingRules=[{"name":"billing","spec":{"then":{"group":"Billing Team"}}}]`},
		errs:    []string{"/routingRules/0/spec/then/group", "Billing Team"},
	}, {
		name:    "schema: rule tenantRef is the chart's",
		release: "acme",
		values:  []string{"--set-json", `routingRules=[{"name":"billing","spec":{"tenantRef":{"name":"other"},"then":{"group":"billing"}}}]`},
		errs:    []string{"/routingRules/0/spec", "tenantRef"},
	}, {
		name:    "schema: offline grace not a duration",
		release: "acme",
		values:  []string{"--set", "tenant.spec.routing.offlineGrace=ten minutes"},
		errs:    []string{"/tenant/spec/routing/offlineGrace", "ten minutes"},
	}, {
		name:    "duplicate rule names",
		release: "acme",
		values: []string{"--set-json", `routingRules=[{"name":"billing","spec":{"then":{"group":"billing"}}},` +
			`{"name":"billing","spec":{"then":{"group":"support"}}}]`},
		errs: []string{`routingRules[1].name: "billing"`},
	}, {
		name:    "schema: tenant name",
		release: "acme",
		values:  []string{"--set", "tenant.name=Acme_Corp"},
		errs:    []string{"/tenant/name", "Acme_Corp"},
	}, {
		name:    "release name is not a tenant ID",
		release: "1st-desk",
		errs:    []string{"tenant.name", `"1st-desk"`},
	}, {
		name:    "schema: tenantRef is the chart's",
		release: "acme",
		values:  []string{"--set-json", `slaPolicies=[{"name":"vip","spec":{"tenantRef":{"name":"other"},"targets":[{"priority":"P1","resolution":"1h"}]}}]`},
		errs:    []string{"/slaPolicies/0/spec", "tenantRef"},
	}, {
		name:    "schema: priority",
		release: "acme",
		values:  []string{"--set-json", `slaPolicies=[{"name":"vip","spec":{"targets":[{"priority":"P6","resolution":"1h"}]}}]`},
		errs:    []string{"/slaPolicies/0/spec/targets/0/priority", "P6"},
	}, {
		name:    "schema: duration",
		release: "acme",
		values:  []string{"--set-json", `slaPolicies=[{"name":"vip","spec":{"targets":[{"priority":"P1","resolution":"4 hours"}]}}]`},
		errs:    []string{"/slaPolicies/0/spec/targets/0/resolution", "4 hours"},
	}, {
		name:    "schema: unknown component",
		release: "acme",
		values:  []string{"--set", "tenant.spec.components.mail.replicas=1"},
		errs:    []string{"/tenant/spec/components", "mail"},
	}, {
		name:    "schema: resource name",
		release: "acme",
		values:  []string{"--set", "tenant.spec.components.ticket.resources.limits.gpu=1"},
		errs:    []string{"/tenant/spec/components/ticket/resources/limits", "gpu"},
	}, {
		name:    "schema: upper-case inbound address",
		release: "acme",
		values:  []string{"--set-json", `tenant.spec.channels={"email":{"inbound":[{"address":"Support@acme.example","group":"support"}]}}`},
		errs:    []string{"/tenant/spec/channels/email/inbound/0/address", "Support@acme.example"},
	}, {
		name:    "schema: relay Secret without a key",
		release: "acme",
		values:  []string{"--set", "tenant.spec.channels.email.relaySecretRef.name=acme-smtp"},
		errs:    []string{"/tenant/spec/channels/email/relaySecretRef", "key"},
	}, {
		name:    "schema: attachments in S3 and on a volume",
		release: "acme",
		values: []string{"--set", "tenant.spec.attachments.s3.urlSecretRef.name=acme-blobs,tenant.spec.attachments.s3.urlSecretRef.key=url",
			"--set", "tenant.spec.attachments.volume.claimName=acme-blobs"},
		errs: []string{"/tenant/spec/attachments", "oneOf"},
	}, {
		name:    "schema: attachments claim not a name",
		release: "acme",
		values:  []string{"--set", "tenant.spec.attachments.volume.claimName=Acme_Blobs"},
		errs:    []string{"/tenant/spec/attachments/volume/claimName", "Acme_Blobs"},
	}, {
		name:    "schema: mail template locale",
		release: "acme",
		values:  []string{"--set-json", `tenant.spec.channels={"email":{"templates":{"acknowledgement":{"zh_CN":{"subject":"已受理 {{.Token}}"}}}}}`},
		// The location helm gives for a property name is garbled; the
		// name and the pattern are right.
		errs: []string{"invalid propertyName 'zh_CN'", "does not match pattern"},
	}, {
		name:    "schema: mail template subject on two lines",
		release: "acme",
		values:  []string{"--set-json", `tenant.spec.channels={"email":{"templates":{"reply":{"en":{"subject":"Re: {{.Subject}}\nBcc: x@evil.example"}}}}}`},
		errs:    []string{"/tenant/spec/channels/email/templates/reply/en/subject"},
	}, {
		name:    "WeChat account from a Secret",
		release: "acme",
		values: []string{"--set-json", `tenant.spec.channels={"wechat":{"appID":"wx1234567890abcdef","appSecret":{"secretKeyRef":{"name":"acme-wechat","key":"appSecret"}},` +
			`"token":{"secretKeyRef":{"name":"acme-wechat","key":"token"}},"mode":"plain","group":"微信客服"}}`},
		check: func(t *testing.T, objs objects, r release) {
			s := spec(objs.one(t, "HelpdeskTenant", r.namespace, "acme"))
			if field(s, "channels", "wechat", "token", "secretKeyRef", "name") != "acme-wechat" || field(s, "channels", "wechat", "mode") != "plain" {
				t.Errorf("channels.wechat = %v", field(s, "channels", "wechat"))
			}
		},
	}, {
		name:    "schema: WeChat secret as a value",
		release: "acme",
		values: []string{"--set-json", `tenant.spec.channels={"wechat":{"appID":"wx1234567890abcdef","appSecret":{"value":"s3cr3t"},` +
			`"token":{"secretKeyRef":{"name":"acme-wechat","key":"token"}},"mode":"plain"}}`},
		errs: []string{"/tenant/spec/channels/wechat/appSecret", "value"},
	}, {
		name:    "schema: WeChat safe mode without a key",
		release: "acme",
		values: []string{"--set-json", `tenant.spec.channels={"wechat":{"appID":"wx1234567890abcdef","appSecret":{"secretKeyRef":{"name":"acme-wechat","key":"appSecret"}},` +
			`"token":{"secretKeyRef":{"name":"acme-wechat","key":"token"}}}}`},
		errs: []string{"/tenant/spec/channels/wechat", "encodingAESKey"},
	}, {
		name:    "schema: chat wait not a duration",
		release: "acme",
		values:  []string{"--set-json", `tenant.spec.channels={"chat":{"group":"support","offerWait":"two minutes"}}`},
		errs:    []string{"/tenant/spec/channels/chat/offerWait", "two minutes"},
	}, {
		name:    "schema: Temporal address",
		release: "acme",
		values:  []string{"--set", "tenant.spec.temporal.address=temporal-frontend"},
		errs:    []string{"/tenant/spec/temporal/address", "temporal-frontend"},
	}, {
		name:    "schema: single sign-on over plain http",
		release: "acme",
		values:  []string{"--set", "tenant.spec.identity.oidc.issuerURL=http://login.acme.example,tenant.spec.identity.oidc.audience=kubedesk"},
		errs:    []string{"/tenant/spec/identity/oidc/issuerURL", "http://login.acme.example"},
	}, {
		name:    "schema: holiday date",
		release: "acme",
		values:  []string{"--set-json", `tenant.spec.calendar.holidays=[{"name":"国庆节","from":"1 Oct","to":"2026-10-07"}]`},
		errs:    []string{"/tenant/spec/calendar/holidays/0/from", "1 Oct"},
	}, {
		name:    "embedded database with two replicas",
		release: "acme",
		values:  []string{"--set", "tenant.spec.components.ticket.replicas=2"},
		errs:    []string{"tenant.spec.components.ticket.replicas: 2", "tenant.spec.database.embedded"},
	}, {
		name:    "duplicate policy names",
		release: "acme",
		values: []string{"--set-json", `slaPolicies=[{"name":"vip","spec":{"targets":[{"priority":"P1","resolution":"1h"}]}},` +
			`{"name":"vip","spec":{"targets":[{"priority":"P2","resolution":"2h"}]}}]`},
		errs: []string{`slaPolicies[1].name: "vip"`},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := release{chart: tenantChart, name: tt.release, namespace: "helpdesk", values: tt.values}
			templateCase(t, r, tt.errs, func(t *testing.T, objs objects) { tt.check(t, objs, r) })
		})
	}
}

// TestApply applies the rendered charts to a real API server, which checks
// them against its own schemas and the CRDs (CEL rules included), and asks
// it what the manager's ServiceAccount may do.
func TestApply(t *testing.T) {
	ctx := t.Context()
	c := env.Client

	clusterWide := release{chart: operatorChart, name: operatorChart, namespace: operatorNamespace}
	scoped := release{chart: operatorChart, name: "scoped", namespace: "scoped-system",
		values: []string{"--set-json", `watchNamespaces=["team-a","team-b"]`}}
	small := release{chart: tenantChart, name: "acme", namespace: "team-a"}
	large := release{chart: tenantChart, name: "globex", namespace: "team-b", values: []string{
		"--set", "tenant.spec.database.postgres.urlSecretRef.name=globex-db,tenant.spec.database.postgres.urlSecretRef.key=url",
		"--set", "tenant.spec.temporal.address=temporal-frontend.temporal:7233,tenant.spec.temporal.namespace=globex",
		"--set", "tenant.spec.components.gateway.replicas=2,tenant.spec.components.ticket.replicas=3",
		"--set-json", `tenant.spec.components.ticket.resources={"requests":{"cpu":"100m","memory":"64Mi"},"limits":{"memory":"256Mi"}}`,
		"--set", "tenant.spec.ingress.host=help.globex.example,tenant.spec.ingress.className=nginx,tenant.spec.ingress.tlsSecretName=globex-tls",
		"--set", "tenant.spec.identity.oidc.issuerURL=https://login.globex.example/realms/globex,tenant.spec.identity.oidc.audience=kubedesk",
		"--set", "tenant.spec.attachments.s3.urlSecretRef.name=globex-blobs,tenant.spec.attachments.s3.urlSecretRef.key=url",
		"--set", "tenant.spec.routing.offlineGrace=15m,tenant.spec.components.routing.replicas=2",
		"--set-json", `routingRules=[{"name":"vip","spec":{"order":10,"continue":true,"when":{"customerTiers":["VIP"]},"then":{"addTags":["vip"],"priorityAtLeast":"P2"}}},` +
			`{"name":"billing-zh","spec":{"when":{"keywords":["发票","退款"],"businessHours":true},"then":{"group":"billing","requireSkills":[{"name":"zh","minLevel":3}]}}}]`,
	}}
	for _, ns := range []string{operatorNamespace, "scoped-system", "team-a", "team-b", "elsewhere"} {
		nsObj := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": ns},
		}}
		if err := apply(ctx, c, nsObj); err != nil {
			t.Fatal(err)
		}
	}

	serviceAccounts := map[string]string{} // release name: the manager's ServiceAccount
	for _, r := range []release{clusterWide, scoped, small, large} {
		t.Run("apply "+r.name, func(t *testing.T) {
			objs := r.render(t)
			for _, d := range objs.ofKind("Deployment") {
				serviceAccounts[r.name], _ = field(d.Object, "spec", "template", "spec", "serviceAccountName").(string)
			}
			crds := objs.ofKind("CustomResourceDefinition")
			for _, crd := range crds {
				if err := apply(ctx, c, crd); err != nil {
					t.Fatal(err)
				}
			}
			for _, crd := range crds {
				if err := waitEstablished(ctx, c, crd.GetName()); err != nil {
					t.Fatal(err)
				}
			}
			for _, o := range objs {
				if o.GetKind() == "CustomResourceDefinition" {
					continue
				}
				if err := apply(ctx, c, o); err != nil {
					t.Error(err)
				}
			}
		})
	}

	t.Run("stored tenant", func(t *testing.T) {
		p := &unstructured.Unstructured{}
		p.SetAPIVersion("kubedesk.io/v1alpha1")
		p.SetKind("SLAPolicy")
		if err := c.Get(ctx, client.ObjectKey{Namespace: "team-b", Name: "standard"}, p); err != nil {
			t.Fatal(err)
		}
		if ref := field(p.Object, "spec", "tenantRef", "name"); ref != "globex" {
			t.Errorf("SLAPolicy team-b/standard tenantRef.name = %v, want globex", ref)
		}
		tenant := &unstructured.Unstructured{}
		tenant.SetAPIVersion("kubedesk.io/v1alpha1")
		tenant.SetKind("HelpdeskTenant")
		if err := c.Get(ctx, client.ObjectKey{Namespace: "team-a", Name: "acme"}, tenant); err != nil {
			t.Fatal(err)
		}
		if holidays := field(tenant.Object, "spec", "calendar", "holidays"); len(maps(holidays)) != 7 {
			t.Errorf("HelpdeskTenant team-a/acme holidays %v, want the 7 of 2026", holidays)
		}
		rule := &unstructured.Unstructured{}
		rule.SetAPIVersion("kubedesk.io/v1alpha1")
		rule.SetKind("RoutingRule")
		if err := c.Get(ctx, client.ObjectKey{Namespace: "team-b", Name: "billing-zh"}, rule); err != nil {
			t.Fatal(err)
		}
		if ref, order := field(rule.Object, "spec", "tenantRef", "name"), field(rule.Object, "spec", "order"); ref != "globex" || fmt.Sprint(order) != "100" {
			t.Errorf("RoutingRule team-b/billing-zh tenantRef.name = %v, order %v; want globex and the default 100", ref, order)
		}
	})

	// What the manager's ServiceAccount may do, as the API server's RBAC
	// authorizer decides it.
	type access struct {
		verb, group, resource, subresource, namespace string
		allowed                                       bool
	}
	tenantAccess := func(ns string, allowed bool) []access {
		return []access{
			{"list", "kubedesk.io", "helpdesktenants", "", ns, allowed},
			{"watch", "kubedesk.io", "slapolicies", "", ns, allowed},
			{"watch", "kubedesk.io", "routingrules", "", ns, allowed},
			{"patch", "kubedesk.io", "routingrules", "status", ns, allowed},
			{"patch", "kubedesk.io", "helpdesktenants", "status", ns, allowed},
			{"update", "kubedesk.io", "helpdesktenants", "finalizers", ns, allowed},
			{"create", "apps", "deployments", "", ns, allowed},
			{"create", "", "persistentvolumeclaims", "", ns, allowed},
			{"create", "", "configmaps", "", ns, allowed},
			{"patch", "", "services", "", ns, allowed},
			{"create", "networking.k8s.io", "ingresses", "", ns, allowed},
			{"get", "", "secrets", "", ns, allowed},
			{"create", "", "secrets", "", ns, allowed},
			{"patch", "", "secrets", "", ns, allowed},
			{"create", "events.k8s.io", "events", "", ns, allowed},
			// Never, anywhere:
			{"update", "", "secrets", "", ns, false},
			{"delete", "", "secrets", "", ns, false},
			{"create", "kubedesk.io", "helpdesktenants", "", ns, false},
			{"delete", "kubedesk.io", "slapolicies", "", ns, false},
			{"update", "kubedesk.io", "routingrules", "", ns, false},
			{"create", "coordination.k8s.io", "leases", "", ns, false},
			{"create", "", "pods", "", ns, false},
			{"delete", "", "persistentvolumeclaims", "", ns, false}, // a tenant's data is deleted by hand
			{"update", "kubedesk.io", "slapolicies", "finalizers", ns, false},
			{"update", "apps", "deployments", "", ns, false},
			{"create", "rbac.authorization.k8s.io", "roles", "", ns, false},
		}
	}
	leaseAccess := func(ns string) []access {
		return []access{
			{"get", "coordination.k8s.io", "leases", "", ns, true},
			{"create", "coordination.k8s.io", "leases", "", ns, true},
			{"update", "coordination.k8s.io", "leases", "", ns, true},
			{"create", "", "events", "", ns, true},
		}
	}
	for _, tt := range []struct {
		r      release
		checks []access
	}{
		{clusterWide, slices.Concat(
			tenantAccess("team-a", true), tenantAccess("elsewhere", true), tenantAccess("", true), leaseAccess(operatorNamespace),
			[]access{{"list", "", "nodes", "", "", false}, {"create", "apiextensions.k8s.io", "customresourcedefinitions", "", "", false}},
		)},
		{scoped, slices.Concat(
			tenantAccess("team-a", true), tenantAccess("team-b", true),
			tenantAccess("elsewhere", false), tenantAccess("", false), leaseAccess("scoped-system"),
		)},
	} {
		t.Run("access "+tt.r.name, func(t *testing.T) {
			sa := serviceAccounts[tt.r.name]
			if sa == "" {
				t.Fatalf("release %s rendered no Deployment with a serviceAccountName", tt.r.name)
			}
			for _, a := range tt.checks {
				sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
					User:   "system:serviceaccount:" + tt.r.namespace + ":" + sa,
					Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + tt.r.namespace, "system:authenticated"},
					ResourceAttributes: &authorizationv1.ResourceAttributes{
						Namespace: a.namespace, Verb: a.verb, Group: a.group, Resource: a.resource, Subresource: a.subresource,
					},
				}}
				if err := c.Create(ctx, sar); err != nil {
					t.Fatal(err)
				}
				if sar.Status.Allowed != a.allowed {
					what := a.resource
					if a.subresource != "" {
						what += "/" + a.subresource
					}
					if a.group != "" {
						what += "." + a.group
					}
					t.Errorf("%s %s in namespace %q: allowed %v, want %v (%s)", a.verb, what, a.namespace, sar.Status.Allowed, a.allowed, sar.Status.Reason)
				}
			}
		})
	}
}

// apply server-side applies o, taking over fields other managers own (the
// CRDs testenv installed).
func apply(ctx context.Context, c client.Client, o *unstructured.Unstructured) error {
	err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(o), client.FieldOwner("kubedesk-charts-test"), client.ForceOwnership)
	if err != nil {
		return fmt.Errorf("apply %s %s/%s: %w", o.GetKind(), o.GetNamespace(), o.GetName(), err)
	}
	return nil
}

func waitEstablished(ctx context.Context, c client.Client, name string) error {
	crd := &unstructured.Unstructured{}
	crd.SetAPIVersion("apiextensions.k8s.io/v1")
	crd.SetKind("CustomResourceDefinition")
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		if err := c.Get(ctx, client.ObjectKey{Name: name}, crd); err != nil {
			return false, err
		}
		for _, cond := range maps(field(crd.Object, "status", "conditions")) {
			if cond["type"] == "Established" && cond["status"] == "True" {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("CRD %s not established: %w", name, err)
	}
	return nil
}
