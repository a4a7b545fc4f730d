package v1alpha1_test

import (
	"errors"
	"os/exec"
	"strings"
	"testing"
)

// The kubedesk binary imports this package and mailtemplate; they must
// stay cheap to import, i.e. depend on k8s.io/apimachinery only.
func TestDependsOnAPIMachineryOnly(t *testing.T) {
	for _, pkg := range []string{"github.com/kubedesk/kubedesk/operator/api/v1alpha1", "github.com/kubedesk/kubedesk/operator/api/mailtemplate"} {
		dependsOnAPIMachineryOnly(t, pkg)
	}
}

func dependsOnAPIMachineryOnly(t *testing.T, pkg string) {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", pkg).Output()
	if err != nil {
		var stderr []byte
		if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
			stderr = ee.Stderr
		}
		t.Fatalf("go list -deps %s: %v\n%s", pkg, err, stderr)
	}
	forbidden := []string{"k8s.io/api", "k8s.io/client-go", "sigs.k8s.io/controller-runtime"}
	for dep := range strings.FieldsSeq(string(out)) {
		for _, f := range forbidden {
			if dep == f || strings.HasPrefix(dep, f+"/") {
				t.Errorf("%s depends on %s; it may import k8s.io/apimachinery only (the kubedesk binary imports it)", pkg, dep)
			}
		}
	}
}
