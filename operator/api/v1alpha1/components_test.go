package v1alpha1_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/utils/ptr"

	"github.com/kubedesk/kubedesk/operator/api/v1alpha1"
)

func TestComponentsEnabled(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec v1alpha1.ComponentsSpec
		want []v1alpha1.ComponentName
	}{
		{"defaults", v1alpha1.ComponentsSpec{}, []v1alpha1.ComponentName{"gateway", "ticket", "channel", "routing", "worker"}},
		{
			"spec without enabled keeps the default",
			v1alpha1.ComponentsSpec{Gateway: &v1alpha1.ComponentSpec{Replicas: ptr.To[int32](2)}, Channel: &v1alpha1.ComponentSpec{}, Routing: &v1alpha1.ComponentSpec{}},
			[]v1alpha1.ComponentName{"gateway", "ticket", "channel", "routing", "worker"},
		},
		{
			"explicit enabled wins",
			v1alpha1.ComponentsSpec{
				Worker: &v1alpha1.ComponentSpec{Enabled: ptr.To(false)}, Channel: &v1alpha1.ComponentSpec{Enabled: ptr.To(false)},
				Routing: &v1alpha1.ComponentSpec{Enabled: ptr.To(false)}, Survey: &v1alpha1.ComponentSpec{Enabled: ptr.To(true)},
			},
			[]v1alpha1.ComponentName{"gateway", "ticket", "survey"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, tc.spec.Enabled()); diff != "" {
				t.Errorf("Enabled() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestComponentsReplicas(t *testing.T) {
	c := v1alpha1.ComponentsSpec{Ticket: &v1alpha1.ComponentSpec{Replicas: ptr.To[int32](3)}, Gateway: &v1alpha1.ComponentSpec{}}
	for name, want := range map[v1alpha1.ComponentName]int32{"ticket": 3, "gateway": 1, "worker": 1} {
		if got := c.Replicas(name); got != want {
			t.Errorf("Replicas(%s) = %d, want %d", name, got, want)
		}
	}
}

func TestAllComponentsHaveAField(t *testing.T) {
	var c v1alpha1.ComponentsSpec
	c.Gateway, c.Ticket, c.Channel, c.Routing = &v1alpha1.ComponentSpec{}, &v1alpha1.ComponentSpec{}, &v1alpha1.ComponentSpec{}, &v1alpha1.ComponentSpec{}
	c.Knowledge, c.Survey, c.Reporting, c.Worker = &v1alpha1.ComponentSpec{}, &v1alpha1.ComponentSpec{}, &v1alpha1.ComponentSpec{}, &v1alpha1.ComponentSpec{}
	seen := map[*v1alpha1.ComponentSpec]v1alpha1.ComponentName{}
	for _, n := range v1alpha1.AllComponents() {
		s := c.Get(n)
		if s == nil {
			t.Fatalf("Get(%s) = nil", n)
		}
		if other, dup := seen[s]; dup {
			t.Errorf("Get(%s) and Get(%s) return the same field", n, other)
		}
		seen[s] = n
	}
	if got := c.Get("mail"); got != nil {
		t.Errorf("Get(mail) = %v, want nil", got)
	}
}
