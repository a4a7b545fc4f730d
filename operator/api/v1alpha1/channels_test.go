package v1alpha1_test

import (
	"net/mail"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/kubedesk/kubedesk/operator/api/v1alpha1"
)

// TestEmailAddressPatternMatchesSchema checks that the binary's rule for
// an inbound address (EmailAddressPattern) is the CRD schema's, so an
// address means the same from a file as from the API server.
func TestEmailAddressPatternMatchesSchema(t *testing.T) {
	const crd = "../../config/crd/bases/kubedesk.io_helpdesktenants.yaml"
	raw, err := os.ReadFile(crd)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Spec struct {
			Versions []struct {
				Schema struct {
					OpenAPIV3Schema struct {
						Properties struct {
							Spec struct {
								Properties struct {
									Channels struct {
										Properties struct {
											Email struct {
												Properties struct {
													Inbound struct {
														Items struct {
															Properties struct {
																Address struct {
																	Pattern string `json:"pattern"`
																} `json:"address"`
															} `json:"properties"`
														} `json:"items"`
													} `json:"inbound"`
												} `json:"properties"`
											} `json:"email"`
										} `json:"properties"`
									} `json:"channels"`
								} `json:"properties"`
							} `json:"spec"`
						} `json:"properties"`
					} `json:"openAPIV3Schema"`
				} `json:"schema"`
			} `json:"versions"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("%s: %v", crd, err)
	}
	if len(doc.Spec.Versions) != 1 {
		t.Fatalf("%s: %d versions, want 1", crd, len(doc.Spec.Versions))
	}
	got := doc.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties.Spec.Properties.Channels.Properties.Email.Properties.Inbound.Items.Properties.Address.Pattern
	if got != v1alpha1.EmailAddressPattern {
		t.Errorf("spec.channels.email.inbound[].address pattern in the CRD:\n%s\nEmailAddressPattern:\n%s", got, v1alpha1.EmailAddressPattern)
	}
}

// TestLocalePatternMatchesSchema checks that the binary's rule for a
// locale (LocalePattern) is the CRD schema's for spec.locale and
// spec.channels.email.defaultLocale.
func TestLocalePatternMatchesSchema(t *testing.T) {
	raw, err := os.ReadFile("../../config/crd/bases/kubedesk.io_helpdesktenants.yaml")
	if err != nil {
		t.Fatal(err)
	}
	type pattern struct {
		Pattern string `json:"pattern"`
	}
	var doc struct {
		Spec struct {
			Versions []struct {
				Schema struct {
					OpenAPIV3Schema struct {
						Properties struct {
							Spec struct {
								Properties struct {
									Locale   pattern `json:"locale"`
									Channels struct {
										Properties struct {
											Email struct {
												Properties struct {
													DefaultLocale pattern `json:"defaultLocale"`
												} `json:"properties"`
											} `json:"email"`
										} `json:"properties"`
									} `json:"channels"`
								} `json:"properties"`
							} `json:"spec"`
						} `json:"properties"`
					} `json:"openAPIV3Schema"`
				} `json:"schema"`
			} `json:"versions"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil || len(doc.Spec.Versions) != 1 {
		t.Fatalf("CRD: %v (%d versions)", err, len(doc.Spec.Versions))
	}
	spec := doc.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties.Spec.Properties
	for field, got := range map[string]string{"spec.locale": spec.Locale.Pattern, "spec.channels.email.defaultLocale": spec.Channels.Properties.Email.Properties.DefaultLocale.Pattern} {
		if got != v1alpha1.LocalePattern {
			t.Errorf("%s pattern in the CRD:\n%s\nLocalePattern:\n%s", field, got, v1alpha1.LocalePattern)
		}
	}
}

// TestWeChatPatternsMatchSchema checks that the binary's rule for an
// AppID (WeChatAppIDPattern) is the CRD schema's for
// spec.channels.wechat.appID. The token and the key have no pattern in
// the schema, which sees only where they are kept (a Secret key);
// TestWeChatPatterns pins those.
func TestWeChatPatternsMatchSchema(t *testing.T) {
	raw, err := os.ReadFile("../../config/crd/bases/kubedesk.io_helpdesktenants.yaml")
	if err != nil {
		t.Fatal(err)
	}
	type pattern struct {
		Pattern string `json:"pattern"`
	}
	var doc struct {
		Spec struct {
			Versions []struct {
				Schema struct {
					OpenAPIV3Schema struct {
						Properties struct {
							Spec struct {
								Properties struct {
									Channels struct {
										Properties struct {
											WeChat struct {
												Properties struct {
													AppID pattern `json:"appID"`
												} `json:"properties"`
											} `json:"wechat"`
										} `json:"properties"`
									} `json:"channels"`
								} `json:"properties"`
							} `json:"spec"`
						} `json:"properties"`
					} `json:"openAPIV3Schema"`
				} `json:"schema"`
			} `json:"versions"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil || len(doc.Spec.Versions) != 1 {
		t.Fatalf("CRD: %v (%d versions)", err, len(doc.Spec.Versions))
	}
	w := doc.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties.Spec.Properties.Channels.Properties.WeChat.Properties
	if w.AppID.Pattern != v1alpha1.WeChatAppIDPattern {
		t.Errorf("spec.channels.wechat.appID pattern in the CRD:\n%s\nWeChatAppIDPattern:\n%s", w.AppID.Pattern, v1alpha1.WeChatAppIDPattern)
	}
}

func TestWeChatPatterns(t *testing.T) {
	for _, tc := range []struct {
		pattern, s string
		want       bool
	}{
		{v1alpha1.WeChatAppIDPattern, "wx1234567890abcdef", true},
		{v1alpha1.WeChatAppIDPattern, "wx1234567890ABCDEF", false},
		{v1alpha1.WeChatAppIDPattern, "wx1234567890abcde", false},
		{v1alpha1.WeChatAppIDPattern, "gh_1234567890ab", false},
		{v1alpha1.WeChatTokenPattern, "abc", true},
		{v1alpha1.WeChatTokenPattern, "kubedeskToken2026", true},
		{v1alpha1.WeChatTokenPattern, "ab", false},
		{v1alpha1.WeChatTokenPattern, strings.Repeat("a", 33), false},
		{v1alpha1.WeChatTokenPattern, "token\n", false},
		{v1alpha1.WeChatTokenPattern, "to-ken", false},
		{v1alpha1.WeChatAESKeyPattern, strings.Repeat("aB3", 14) + "x", true},
		{v1alpha1.WeChatAESKeyPattern, strings.Repeat("a", 42), false},
		{v1alpha1.WeChatAESKeyPattern, strings.Repeat("a", 43) + "=", false},
	} {
		if got := regexp.MustCompile(tc.pattern).MatchString(tc.s); got != tc.want {
			t.Errorf("%s matches %q: %v, want %v", tc.pattern, tc.s, got, tc.want)
		}
	}
}

func TestEmailAddressPattern(t *testing.T) {
	re := regexp.MustCompile(v1alpha1.EmailAddressPattern)
	for addr, want := range map[string]bool{
		"support@acme.example":           true,
		"support@default.localhost":      true,
		"first.last+tag@mail.example.cn": true,
		"o'brien@acme.example":           true,
		"support@localhost":              true,
		"Support@acme.example":           false,
		"support@Acme.example":           false,
		"support":                        false,
		"@acme.example":                  false,
		"support@":                       false,
		".support@acme.example":          false,
		"sup..port@acme.example":         false,
		"support@acme..example":          false,
		"support@-acme.example":          false,
		"Acme <support@acme.example>":    false,
		"support @acme.example":          false,
		"support@acme.example\n":         false,
		"客服@acme.example":                false,
	} {
		if got := re.MatchString(addr); got != want {
			t.Errorf("%q matches: %v, want %v", addr, got, want)
		}
	}
}

func TestEmailChannelDefaults(t *testing.T) {
	var s v1alpha1.HelpdeskTenantSpec
	if !s.Channels.Email.AutoAcknowledges() {
		t.Error("AutoAcknowledges() of an unset autoAcknowledge = false, want true (the schema default)")
	}
	s.SetDefaults()
	if diff := cmp.Diff(ptr.To(true), s.Channels.Email.AutoAcknowledge); diff != "" {
		t.Errorf("autoAcknowledge after SetDefaults (-want +got):\n%s", diff)
	}
	s.Channels.Email.AutoAcknowledge = ptr.To(false)
	s.SetDefaults()
	if s.Channels.Email.AutoAcknowledges() {
		t.Error("SetDefaults turned autoAcknowledge: false into true")
	}
}

func TestEmailFrom(t *testing.T) {
	inbound := []v1alpha1.EmailInbound{{Address: "support@acme.example"}, {Address: "billing@acme.example"}}
	for _, tc := range []struct {
		name        string
		displayName string
		email       v1alpha1.EmailChannelSpec
		want        string
	}{
		{"from wins", "Acme", v1alpha1.EmailChannelSpec{From: "Acme Help <help@acme.example>", Inbound: inbound}, "Acme Help <help@acme.example>"},
		{"first inbound with the display name", "Acme Support", v1alpha1.EmailChannelSpec{Inbound: inbound}, `"Acme Support" <support@acme.example>`},
		{"no display name", "", v1alpha1.EmailChannelSpec{Inbound: inbound}, "<support@acme.example>"},
		// RFC 2047 encoded words of at most 75 characters each.
		{"display name in Chinese", "极客科技客服中心", v1alpha1.EmailChannelSpec{Inbound: inbound}, "=?utf-8?q?=E6=9E=81=E5=AE=A2=E7=A7=91=E6=8A=80=E5=AE=A2=E6=9C=8D=E4=B8=AD?= =?utf-8?q?=E5=BF=83?= <support@acme.example>"},
		{"nothing to send from", "Acme", v1alpha1.EmailChannelSpec{}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := v1alpha1.HelpdeskTenantSpec{DisplayName: tc.displayName, Channels: v1alpha1.ChannelsSpec{Email: tc.email}}
			got := s.EmailFrom()
			if got != tc.want {
				t.Errorf("EmailFrom() = %q, want %q", got, tc.want)
			}
			if got == "" || tc.email.From != "" {
				return
			}
			a, err := mail.ParseAddress(got)
			if err != nil || a.Name != tc.displayName || a.Address != "support@acme.example" {
				t.Errorf("mail.ParseAddress(%q) = %+v, %v; want %q <support@acme.example>", got, a, err, tc.displayName)
			}
		})
	}
}
