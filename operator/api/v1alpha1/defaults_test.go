package v1alpha1_test

import (
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/kubedesk/kubedesk/operator/api/v1alpha1"
)

// TestSLAPolicyDefaultsMatchSchema checks that SetDefaults applies what
// the generated CRD schema defaults, so a policy means the same from a
// file as from the API server.
func TestSLAPolicyDefaultsMatchSchema(t *testing.T) {
	const crd = "../../config/crd/bases/kubedesk.io_slapolicies.yaml"
	raw, err := os.ReadFile(crd)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Spec struct {
			Versions []struct {
				Name   string
				Schema struct {
					OpenAPIV3Schema schema `json:"openAPIV3Schema"`
				}
			}
		}
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("%s: %v", crd, err)
	}
	if len(doc.Spec.Versions) != 1 || doc.Spec.Versions[0].Name != "v1alpha1" {
		t.Fatalf("%s: want one version, v1alpha1", crd)
	}
	spec := doc.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"]

	// The schema's defaults, applied to an empty spec the way the API
	// server does (calendar is always sent: it is not a pointer).
	fromSchema := map[string]any{}
	for name, prop := range spec.Properties {
		if prop.Default != nil {
			fromSchema[name] = prop.Default
		}
	}
	calendar := map[string]any{}
	for name, prop := range spec.Properties["calendar"].Properties {
		if prop.Default != nil {
			calendar[name] = prop.Default
		}
	}
	fromSchema["calendar"] = calendar
	var want v1alpha1.SLAPolicySpec
	b, err := yaml.Marshal(fromSchema)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(b, &want); err != nil {
		t.Fatalf("schema defaults %s: %v", b, err)
	}

	var got v1alpha1.SLAPolicySpec
	got.SetDefaults()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("SetDefaults differs from the CRD schema's defaults (-schema +SetDefaults):\n%s", diff)
	}
}

// schema is the part of an OpenAPI v3 schema the test reads.
type schema struct {
	Default    any               `json:"default,omitempty"`
	Properties map[string]schema `json:"properties,omitempty"`
}

func TestSLAPolicySetDefaults(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   v1alpha1.SLAPolicySpec
		want v1alpha1.SLAPolicySpec
	}{
		{
			"empty",
			v1alpha1.SLAPolicySpec{},
			v1alpha1.SLAPolicySpec{Precedence: 100, WarningThresholdPercent: 75, PauseOn: []v1alpha1.TicketStatus{"pending"},
				Calendar: v1alpha1.BusinessCalendar{TimeZone: "UTC"}},
		},
		{
			"set fields stay, an empty pauseOn stays empty",
			v1alpha1.SLAPolicySpec{Precedence: 5, WarningThresholdPercent: 50, PauseOn: []v1alpha1.TicketStatus{},
				Calendar: v1alpha1.BusinessCalendar{TimeZone: "Asia/Shanghai"}},
			v1alpha1.SLAPolicySpec{Precedence: 5, WarningThresholdPercent: 50, PauseOn: []v1alpha1.TicketStatus{},
				Calendar: v1alpha1.BusinessCalendar{TimeZone: "Asia/Shanghai"}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := v1alpha1.SLAPolicy{Spec: tc.in}
			p.SetDefaults()
			if diff := cmp.Diff(tc.want, p.Spec); diff != "" {
				t.Errorf("SetDefaults (-want +got):\n%s", diff)
			}
		})
	}
}
