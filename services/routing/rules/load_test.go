package rules

import (
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kubedesk/kubedesk/operator/api/v1alpha1"
)

const defaultTenant = `apiVersion: kubedesk.io/v1alpha1
kind: HelpdeskTenant
metadata: {name: default}
spec: {timeZone: Asia/Shanghai}`

const slaPolicy = `apiVersion: kubedesk.io/v1alpha1
kind: SLAPolicy
metadata: {name: standard}
spec:
  tenantRef: {name: default}
  targets: [{priority: P1, firstResponse: 15m}]`

func TestLoad(t *testing.T) {
	// A file with every kind of document: the rules take theirs.
	set := load(t, defaultTenant, slaPolicy,
		rule("vip", `
order: 10
when: {customerTiers: [VIP], channels: [email, chat]}
then: {group: vip, requireSkills: [{name: zh}]}`),
		rule("catch-all", `{then: {group: general}}`),
	)
	rules := set.Rules("default")
	if len(rules) != 2 {
		t.Fatalf("%d rules, want 2", len(rules))
	}
	vip := rules[0]
	want := v1alpha1.RoutingRuleSpec{
		TenantRef: v1alpha1.LocalObjectReference{Name: "default"},
		Order:     10,
		When:      v1alpha1.RoutingConditions{CustomerTiers: []string{"VIP"}, Channels: []v1alpha1.Channel{"email", "chat"}},
		Then:      v1alpha1.RoutingActions{Group: "vip", RequireSkills: []v1alpha1.SkillRequirement{{Name: "zh", MinLevel: 1}}},
	}
	if diff := cmp.Diff(want, vip.Spec); diff != "" {
		t.Errorf("spec (-want +got):\n%s", diff)
	}
	if vip.Name != "vip" || vip.Tenant != "default" || vip.Order != 10 || vip.Source != "routing.yaml#2" {
		t.Errorf("rule = %s of %s, order %d, at %s; want vip of default, order 10, at routing.yaml#2", vip.Name, vip.Tenant, vip.Order, vip.Source)
	}
	if rules[1].Order != DefaultOrder || rules[1].Source != "routing.yaml#3" {
		t.Errorf("catch-all: order %d at %s, want %d at routing.yaml#3", rules[1].Order, rules[1].Source, DefaultOrder)
	}
	if _, ok := set.Tenants["default"]; !ok {
		t.Errorf("tenants = %v, want default", set.Tenants)
	}
	if diff := cmp.Diff([]string{"default"}, set.TenantIDs()); diff != "" {
		t.Errorf("tenant IDs (-want +got):\n%s", diff)
	}
	if len(set.All()) != 2 || len(set.Warnings()) != 0 {
		t.Errorf("All() = %d rules, warnings %q; want 2 and none", len(set.All()), set.Warnings())
	}

	// Without a catalogue only the static checks run.
	if _, err := Load(writeConfig(t, rule("r", `{then: {group: nowhere, requireSkills: [{name: klingon}]}}`)), nil); err != nil {
		t.Errorf("Load without a catalogue: %v", err)
	}
	// A file without rules is an empty set.
	set = load(t, defaultTenant)
	if len(set.All()) != 0 || set.Evaluate("default", Facts{}, monday).Group != "" {
		t.Error("a file without rules has rules")
	}
}

func TestLoadRefuses(t *testing.T) {
	for _, c := range []struct {
		name string
		docs []string
		want string
	}{
		{"unknown group", []string{defaultTenant, slaPolicy, rule("vip", `{then: {group: bilings}}`)},
			`routing.yaml#2: RoutingRule vip: spec.then.group: "bilings" is not a group of tenant default; accepted: one of billing, cn-desk, escalation, general, network, vip`},
		{"group of a tenant without groups", []string{rule("vip", `{then: {group: billing}}`)},
			``},
		{"unknown skill", []string{rule("vip", `{then: {requireSkills: [{name: zh}, {name: billng, minLevel: 2}]}}`)},
			`routing.yaml#0: RoutingRule vip: spec.then.requireSkills[1].name: "billng" is not a skill of any agent of tenant default; accepted: one of billing, en, network, zh`},
		{"tenant not in the file", []string{defaultTenant, strings.Replace(rule("vip", `{then: {group: billing}}`), "name: default", "name: other", 1)},
			`routing.yaml#1: RoutingRule vip: spec.tenantRef.name: "other" is not a HelpdeskTenant of this file; accepted: default`},
		{"no tenant", []string{"apiVersion: kubedesk.io/v1alpha1\nkind: RoutingRule\nmetadata: {name: vip}\nspec: {then: {group: billing}}"},
			`routing.yaml#0: RoutingRule vip: spec.tenantRef.name: is required`},
		{"bad tenant", []string{strings.Replace(rule("vip", `{then: {group: billing}}`), "name: default", "name: Default", 1)},
			`routing.yaml#0: RoutingRule vip: spec.tenantRef.name: "Default" is not a tenant ID; accepted: a DNS label (lower-case letters, digits and '-', 1-63 characters, starting and ending with a letter or digit)`},
		{"no name", []string{"apiVersion: kubedesk.io/v1alpha1\nkind: RoutingRule\nspec: {tenantRef: {name: default}, then: {group: billing}}"},
			`routing.yaml#0: RoutingRule: metadata.name: is required`},
		{"bad name", []string{rule("VIP_rule", `{then: {group: billing}}`)},
			`routing.yaml#0: RoutingRule VIP_rule: metadata.name: "VIP_rule" is not a valid name; accepted: lower-case letters, digits, '-' and '.', starting and ending with a letter or digit, at most 253 characters`},
		{"order", []string{rule("vip", `{order: -5, then: {group: billing}}`)},
			`routing.yaml#0: RoutingRule vip: spec.order: -5 is out of range; accepted: 1 to 100000 (unset: 100)`},
		{"order too high", []string{rule("vip", `{order: 100001, then: {group: billing}}`)},
			`routing.yaml#0: RoutingRule vip: spec.order: 100001 is out of range; accepted: 1 to 100000 (unset: 100)`},
		{"channel", []string{rule("vip", `{when: {channels: [email, fax]}, then: {group: billing}}`)},
			`routing.yaml#0: RoutingRule vip: spec.when.channels[1]: "fax" is not a channel; accepted: web, email, chat, wechat, api, phone`},
		{"channel twice", []string{rule("vip", `{when: {channels: [email, email]}, then: {group: billing}}`)},
			`routing.yaml#0: RoutingRule vip: spec.when.channels[1]: "email" is listed twice; accepted: each channel once`},
		{"priority", []string{rule("vip", `{when: {priorities: [P0]}, then: {group: billing}}`)},
			`routing.yaml#0: RoutingRule vip: spec.when.priorities[0]: "P0" is not a priority; accepted: P1, P2, P3, P4, P5`},
		{"priority twice", []string{rule("vip", `{when: {priorities: [P1, P2, P1]}, then: {group: billing}}`)},
			`routing.yaml#0: RoutingRule vip: spec.when.priorities[2]: "P1" is listed twice; accepted: each priority once`},
		{"empty tier", []string{rule("vip", `{when: {customerTiers: [""]}, then: {group: billing}}`)},
			`routing.yaml#0: RoutingRule vip: spec.when.customerTiers[0]: is empty; accepted: a tier such as VIP, at most 64 characters`},
		{"long tier", []string{rule("vip", `{when: {customerTiers: [`+strings.Repeat("v", 65)+`]}, then: {group: billing}}`)},
			`routing.yaml#0: RoutingRule vip: spec.when.customerTiers[0]: has 65 characters; accepted: at most 64`},
		{"empty organization", []string{rule("vip", `{when: {organizations: [" "]}, then: {group: billing}}`)},
			`routing.yaml#0: RoutingRule vip: spec.when.organizations[0]: is empty; accepted: an organisation's ID or name, at most 200 characters`},
		{"empty tag", []string{rule("vip", `{when: {tags: [vip, ""]}, then: {group: billing}}`)},
			`routing.yaml#0: RoutingRule vip: spec.when.tags[1]: is empty; accepted: a tag of 1 to 100 characters`},
		{"long tag", []string{rule("vip", `{when: {tags: [`+strings.Repeat("标", 101)+`]}, then: {group: billing}}`)},
			`routing.yaml#0: RoutingRule vip: spec.when.tags[0]: has 101 characters; accepted: at most 100`},
		{"padded tag", []string{rule("vip", `{when: {tags: [" vip"]}, then: {group: billing}}`)},
			`routing.yaml#0: RoutingRule vip: spec.when.tags[0]: " vip" has spaces around it; accepted: a tag as tickets carry it, trimmed`},
		{"too many tags", []string{rule("vip", `{when: {tags: [`+strings.TrimSuffix(strings.Repeat("t, ", 51), ", ")+`]}, then: {group: billing}}`)},
			`routing.yaml#0: RoutingRule vip: spec.when.tags: has 51 items; accepted: at most 50`},
		{"custom field key", []string{rule("vip", `{when: {customFields: {"1region": [cn]}}, then: {group: billing}}`)},
			`routing.yaml#0: RoutingRule vip: spec.when.customFields[1region]: "1region" is not a custom field name; accepted: a letter, then up to 62 letters, digits, '_', '.' or '-'`},
		{"custom field without values", []string{rule("vip", `{when: {customFields: {region: []}}, then: {group: billing}}`)},
			`routing.yaml#0: RoutingRule vip: spec.when.customFields[region]: lists no values; accepted: at least one value ("" for a ticket without the field)`},
		{"requester", []string{rule("vip", `{when: {requesters: [bob]}, then: {group: billing}}`)},
			`routing.yaml#0: RoutingRule vip: spec.when.requesters[0]: "bob" is not a requester; accepted: an e-mail address (bob@example.com), a whole domain (*@example.com), a channel identity (wechat:oAbc123) or a contact (contact:ID), at most 254 characters`},
		{"requester domain", []string{rule("vip", `{when: {requesters: ["*@"]}, then: {group: billing}}`)},
			`routing.yaml#0: RoutingRule vip: spec.when.requesters[0]: "*@" is not a requester; accepted: an e-mail address (bob@example.com), a whole domain (*@example.com), a channel identity (wechat:oAbc123) or a contact (contact:ID), at most 254 characters`},
		{"requester with a name", []string{rule("vip", `{when: {requesters: ["Bob <bob@example.com>"]}, then: {group: billing}}`)},
			`routing.yaml#0: RoutingRule vip: spec.when.requesters[0]: "Bob <bob@example.com>" is not a requester; accepted: an e-mail address (bob@example.com), a whole domain (*@example.com), a channel identity (wechat:oAbc123) or a contact (contact:ID), at most 254 characters`},
		{"empty keyword", []string{rule("vip", `{when: {keywords: [vpn, ""]}, then: {group: billing}}`)},
			`routing.yaml#0: RoutingRule vip: spec.when.keywords[1]: is empty; accepted: a word or phrase of 1 to 100 characters`},
		{"blank keyword", []string{rule("vip", `{when: {keywords: ["　 "]}, then: {group: billing}}`)},
			`routing.yaml#0: RoutingRule vip: spec.when.keywords[0]: "\u3000 " is blank; accepted: a word or phrase of 1 to 100 characters`},
		{"long keyword", []string{rule("vip", `{when: {keywords: [`+strings.Repeat("密", 101)+`]}, then: {group: billing}}`)},
			`routing.yaml#0: RoutingRule vip: spec.when.keywords[0]: has 101 characters; accepted: at most 100`},
		{"inbound address", []string{rule("vip", `{when: {inboundAddresses: [support]}, then: {group: billing}}`)},
			`routing.yaml#0: RoutingRule vip: spec.when.inboundAddresses[0]: "support" is not an e-mail address; accepted: the bare address customers write to, e.g. support@example.com`},
		{"calendar", []string{rule("vip", `{when: {businessHours: true, calendar: {timeZone: Mars/Base}}, then: {group: billing}}`)},
			`routing.yaml#0: RoutingRule vip: spec.when.calendar.timeZone: "Mars/Base" is not an IANA time zone (e.g. "Asia/Shanghai", "Europe/Berlin", "UTC")`},
		{"calendar hours", []string{rule("vip", `{when: {businessHours: false, calendar: {workingHours: [{days: [Mon], start: "18:00", end: "09:00"}]}}, then: {group: billing}}`)},
			`routing.yaml#0: RoutingRule vip: spec.when.calendar.workingHours[0]: end 09:00 is not after start 18:00; an overnight shift is two entries (e.g. 22:00-24:00 and 00:00-06:00)`},
		{"no action", []string{rule("vip", `{when: {channels: [email]}, then: {}}`)},
			`routing.yaml#0: RoutingRule vip: spec.then: sets nothing; accepted: at least one of group, requireSkills, addTags, priorityAtLeast, setCustomFields`},
		{"group ID", []string{rule("vip", `{then: {group: Billing}}`)},
			`routing.yaml#0: RoutingRule vip: spec.then.group: "Billing" is not a group ID; accepted: a DNS label (lower-case letters, digits and '-', 1-63 characters, starting and ending with a letter or digit)`},
		{"skill name", []string{rule("vip", `{then: {requireSkills: [{name: Billing}]}}`)},
			`routing.yaml#0: RoutingRule vip: spec.then.requireSkills[0].name: "Billing" is not a skill name; accepted: a lower-case letter, then up to 39 lower-case letters, digits, '_' or '-'`},
		{"skill twice", []string{rule("vip", `{then: {requireSkills: [{name: zh}, {name: zh, minLevel: 3}]}}`)},
			`routing.yaml#0: RoutingRule vip: spec.then.requireSkills[1].name: "zh" is required twice; accepted: each skill once, at the lowest level that will do`},
		{"skill level", []string{rule("vip", `{then: {requireSkills: [{name: zh, minLevel: 6}]}}`)},
			`routing.yaml#0: RoutingRule vip: spec.then.requireSkills[0].minLevel: 6 is out of range; accepted: 1 to 5 (0 or unset: 1)`},
		{"add tag", []string{rule("vip", `{then: {addTags: [""]}}`)},
			`routing.yaml#0: RoutingRule vip: spec.then.addTags[0]: is empty; accepted: a tag of 1 to 100 characters`},
		{"priority floor", []string{rule("vip", `{then: {priorityAtLeast: urgent}}`)},
			`routing.yaml#0: RoutingRule vip: spec.then.priorityAtLeast: "urgent" is not a priority; accepted: P1, P2, P3, P4, P5`},
		{"set custom field", []string{rule("vip", `{then: {setCustomFields: {"has space": x}}}`)},
			`routing.yaml#0: RoutingRule vip: spec.then.setCustomFields[has space]: "has space" is not a custom field name; accepted: a letter, then up to 62 letters, digits, '_', '.' or '-'`},
		{"set custom field value", []string{rule("vip", `{then: {setCustomFields: {note: `+strings.Repeat("x", 4097)+`}}}`)},
			`routing.yaml#0: RoutingRule vip: spec.then.setCustomFields[note]: has 4097 characters; accepted: at most 4096`},
		{"duplicate name", []string{rule("vip", `{then: {group: billing}}`), rule("vip", `{order: 5, then: {group: network}}`)},
			`routing.yaml#1: RoutingRule vip: metadata.name: "vip" is a rule of tenant default already (at routing.yaml#0); accepted: one rule per name in a tenant`},
		{"unknown field", []string{rule("vip", `{when: {chanels: [email]}, then: {group: billing}}`)},
			`routing.yaml#0: RoutingRule vip: spec.when.chanels: is not a field; accepted: businessHours, calendar, channels, customFields, customerTiers, inboundAddresses, keywords, organizations, priorities, requesters, tags`},
		{"wrong type", []string{rule("vip", `{order: first, then: {group: billing}}`)},
			`routing.yaml#0: RoutingRule vip: spec.order: got a string; accepted: a whole number`},
		{"bad tenant document", []string{"apiVersion: kubedesk.io/v1alpha1\nkind: HelpdeskTenant\nmetadata: {name: default}\nspec: {calendar: {timeZone: Mars/Base}}", rule("vip", `{then: {group: billing}}`)},
			`routing.yaml: document 0: HelpdeskTenant default: spec.calendar.timeZone: "Mars/Base" is not an IANA time zone (e.g. "Asia/Shanghai", "Europe/Berlin", "UTC")`},
	} {
		t.Run(c.name, func(t *testing.T) {
			cat := shop
			want := c.want
			if c.name == "group of a tenant without groups" {
				cat = catalogue{}
				want = `routing.yaml#0: RoutingRule vip: spec.then.group: "billing" is not a group of tenant default; accepted: a group of the tenant (it has none yet: create one with POST /v1/groups)`
			}
			_, err := Load(writeConfig(t, c.docs...), cat)
			if err == nil {
				t.Fatalf("Load accepted the file; want %s", want)
			}
			if err.Error() != want {
				t.Errorf("error:\n%s\nwant:\n%s", err, want)
			}
		})
	}
}

func TestLoadJoinsEveryProblem(t *testing.T) {
	_, err := Load(writeConfig(t,
		defaultTenant,
		rule("a", `{order: -1, when: {channels: [fax]}, then: {group: bilings}}`),
		rule("b", `{then: {requireSkills: [{name: klingon}]}}`),
	), shop)
	want := strings.Join([]string{
		`routing.yaml#1: RoutingRule a: spec.order: -1 is out of range; accepted: 1 to 100000 (unset: 100)`,
		`routing.yaml#1: RoutingRule a: spec.when.channels[0]: "fax" is not a channel; accepted: web, email, chat, wechat, api, phone`,
		`routing.yaml#1: RoutingRule a: spec.then.group: "bilings" is not a group of tenant default; accepted: one of billing, cn-desk, escalation, general, network, vip`,
		`routing.yaml#2: RoutingRule b: spec.then.requireSkills[0].name: "klingon" is not a skill of any agent of tenant default; accepted: one of billing, en, network, zh`,
	}, "\n")
	if err == nil || err.Error() != want {
		t.Errorf("error:\n%v\nwant:\n%s", err, want)
	}
}

func TestLoadSkillsOfNoAgent(t *testing.T) {
	_, err := Load(writeConfig(t, rule("r", `{then: {requireSkills: [{name: zh}]}}`)), catalogue{groups: shop.groups})
	want := `routing.yaml#0: RoutingRule r: spec.then.requireSkills[0].name: "zh" is not a skill of any agent of tenant default; accepted: a skill some agent has (none has any yet: set them with PATCH /v1/agents/{id})`
	if err == nil || err.Error() != want {
		t.Errorf("error:\n%v\nwant:\n%s", err, want)
	}
}

func TestLoadLongCatalogue(t *testing.T) {
	var groups []string
	for _, c := range "abcdefghijklmnopqrstuvwxyz0123456789" {
		groups = append(groups, "g"+string(c))
	}
	_, err := Load(writeConfig(t, rule("r", `{then: {group: nope}}`)), catalogue{groups: map[string][]string{"default": groups}})
	want := `routing.yaml#0: RoutingRule r: spec.then.group: "nope" is not a group of tenant default; accepted: one of g0, g1, g2, g3, g4, g5, g6, g7, g8, g9, ga, gb, gc, gd, ge, gf, gg, gh, gi, gj, gk, gl, gm, gn, go, gp, gq, gr, gs, gt and 6 more`
	if err == nil || err.Error() != want {
		t.Errorf("error:\n%v\nwant:\n%s", err, want)
	}
}

// TestInForceKeepsLastValidSet: an invalid edit is refused and the
// previous rules stay in force; a valid one replaces them.
func TestInForceKeepsLastValidSet(t *testing.T) {
	path := writeConfig(t, defaultTenant, rule("vip", `{when: {customerTiers: [vip]}, then: {group: vip}}`))
	f := NewInForce()
	if got := len(f.Current().All()); got != 0 {
		t.Fatalf("a new InForce has %d rules", got)
	}
	if err := f.Load(path, shop); err != nil {
		t.Fatal(err)
	}
	first := f.Current()
	vipTicket := Facts{CustomerTier: "VIP"}

	edit := func(docs ...string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(strings.Join(docs, "\n---\n")), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// One good rule and one bad: nothing of the file is taken.
	edit(defaultTenant, rule("vip", `{when: {customerTiers: [vip]}, then: {group: network}}`), rule("bad", `{then: {group: bilings}}`))
	if err := f.Load(path, shop); err == nil {
		t.Fatal("an invalid edit was loaded")
	}
	if f.Current() != first || f.Current().Evaluate("default", vipTicket, monday).Group != "vip" {
		t.Error("an invalid edit changed the rules in force")
	}
	// A group deleted from the catalogue makes the same file invalid.
	if err := f.Load(path, catalogue{}); err == nil {
		t.Fatal("a rule naming a group that no longer exists was loaded")
	}
	// A file that cannot be read changes nothing either.
	if err := f.Load("missing.yaml", shop); err == nil || f.Current() != first {
		t.Errorf("missing file: err %v, set changed %v", err, f.Current() != first)
	}

	edit(defaultTenant, rule("vip", `{when: {customerTiers: [vip]}, then: {group: network}}`))
	if err := f.Load(path, shop); err != nil {
		t.Fatal(err)
	}
	if got := f.Current().Evaluate("default", vipTicket, monday).Group; got != "network" {
		t.Errorf("after a valid edit the group is %q, want network", got)
	}
}
