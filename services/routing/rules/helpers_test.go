package rules

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// catalogue is the routing service's groups and skills as a test states
// them, by tenant.
type catalogue struct {
	groups, skills map[string][]string
}

func (c catalogue) Groups(tenant string) []string { return c.groups[tenant] }
func (c catalogue) Skills(tenant string) []string { return c.skills[tenant] }

// shop is the catalogue most tests check against: tenant default has the
// groups and skills their rules name.
var shop = catalogue{
	groups: map[string][]string{"default": {"billing", "network", "vip", "escalation", "general", "cn-desk"}, "acme": {"support"}},
	skills: map[string][]string{"default": {"billing", "zh", "network", "en"}, "acme": {"en"}},
}

// writeConfig writes docs to routing.yaml in a fresh working directory
// and returns the relative path, so that error messages read as a user
// sees them: "routing.yaml#2: ...".
func writeConfig(t testing.TB, docs ...string) string {
	t.Helper()
	dir := t.TempDir()
	t.Chdir(dir)
	const name = "routing.yaml"
	if err := os.WriteFile(filepath.Join(dir, name), []byte(strings.Join(docs, "\n---\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	return name
}

// rule is a RoutingRule document of tenant default with the given name
// and spec body: block YAML (indented under spec:) or a flow mapping
// ("{order: 1, then: {group: vip}}").
func rule(name, spec string) string {
	head := "apiVersion: kubedesk.io/v1alpha1\nkind: RoutingRule\nmetadata: {name: " + name + "}\n"
	if flow, ok := strings.CutPrefix(strings.TrimSpace(spec), "{"); ok {
		return head + "spec: {tenantRef: {name: default}, " + flow + "\n"
	}
	return head + "spec:\n  tenantRef: {name: default}\n" + indent(spec)
}

func indent(s string) string {
	lines := strings.Split(strings.Trim(s, "\n"), "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = "  " + l
		}
	}
	return strings.Join(lines, "\n") + "\n"
}

// load compiles docs against shop, failing the test on an error.
func load(t testing.TB, docs ...string) *Set {
	t.Helper()
	set, err := Load(writeConfig(t, docs...), shop)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return set
}
