package rules

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kubedesk/kubedesk/services/routing"
)

var monday = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

func reason(code string, args ...string) routing.Reason {
	r := routing.Reason{Code: code, Args: map[string]string{}}
	for i := 0; i+1 < len(args); i += 2 {
		r.Args[args[i]] = args[i+1]
	}
	return r
}

func matched(rule string, reasons ...routing.Reason) routing.RuleMatch {
	return routing.RuleMatch{Rule: rule, Reasons: reasons}
}

// reasonsEqual compares reasons treating nil and empty Args alike.
var reasonsEqual = cmp.Transformer("args", func(r routing.Reason) routing.Reason {
	if len(r.Args) == 0 {
		r.Args = nil
	}
	return r
})

func TestConditions(t *testing.T) {
	for _, c := range []struct {
		name  string
		when  string
		facts Facts
		want  []routing.Reason // nil: the rule does not match
	}{
		{"no conditions", ``, Facts{}, []routing.Reason{reason(ReasonAlways)}},
		{"channel", `channels: [email, chat]`, Facts{Channel: "chat"}, []routing.Reason{reason(ReasonChannel, "channel", "chat")}},
		{"channel no", `channels: [email, chat]`, Facts{Channel: "web"}, nil},
		{"tier ignores case", `customerTiers: [VIP]`, Facts{CustomerTier: "vip"}, []routing.Reason{reason(ReasonTier, "tier", "vip")}},
		{"tier no", `customerTiers: [VIP]`, Facts{CustomerTier: "standard"}, nil},
		{"tier none", `customerTiers: [VIP]`, Facts{}, nil},
		{"organization by ID", `organizations: [org-42, Acme]`, Facts{OrganizationID: "org-42", OrganizationName: "Other"}, []routing.Reason{reason(ReasonOrganization, "organization", "org-42")}},
		{"organization by name", `organizations: [org-42, Acme]`, Facts{OrganizationID: "org-7", OrganizationName: "ACME"}, []routing.Reason{reason(ReasonOrganization, "organization", "Acme")}},
		{"organization ID is exact", `organizations: [org-42]`, Facts{OrganizationID: "ORG-42"}, nil},
		{"priority", `priorities: [P1, P2]`, Facts{Priority: 2}, []routing.Reason{reason(ReasonPriority, "priority", "P2")}},
		{"priority no", `priorities: [P1, P2]`, Facts{Priority: 3}, nil},
		{"tag", `tags: [vip, urgent]`, Facts{Tags: []string{"x", "urgent"}}, []routing.Reason{reason(ReasonTag, "tag", "urgent")}},
		{"tag no", `tags: [vip]`, Facts{Tags: []string{"VIP"}}, nil},
		{"custom field", `customFields: {region: [cn, hk]}`, Facts{CustomFields: map[string]string{"region": "hk"}}, []routing.Reason{reason(ReasonCustomField, "field", "region", "value", "hk")}},
		{"custom field absent", `customFields: {region: [cn, ""]}`, Facts{}, []routing.Reason{reason(ReasonCustomField, "field", "region", "value", "")}},
		{"custom field no", `customFields: {region: [cn]}`, Facts{CustomFields: map[string]string{"region": "us"}}, nil},
		{"custom fields all", `customFields: {region: [cn], product: [vpn]}`, Facts{CustomFields: map[string]string{"region": "cn", "product": "vpn"}},
			[]routing.Reason{reason(ReasonCustomField, "field", "product", "value", "vpn"), reason(ReasonCustomField, "field", "region", "value", "cn")}},
		{"custom fields one missing", `customFields: {region: [cn], product: [vpn]}`, Facts{CustomFields: map[string]string{"region": "cn"}}, nil},
		{"requester e-mail ignores case", `requesters: [Bob@Example.com]`, Facts{RequesterEmail: "bob@example.COM"}, []routing.Reason{reason(ReasonRequester, "requester", "Bob@Example.com")}},
		{"requester domain", `requesters: ["*@example.com"]`, Facts{RequesterEmail: "ann@Example.com"}, []routing.Reason{reason(ReasonRequester, "requester", "*@example.com")}},
		{"requester domain is exact", `requesters: ["*@example.com"]`, Facts{RequesterEmail: "ann@mail.example.com"}, nil},
		{"requester identity", `requesters: ["wechat:oAbc123"]`, Facts{RequesterIdentity: "wechat:oAbc123"}, []routing.Reason{reason(ReasonRequester, "requester", "wechat:oAbc123")}},
		{"requester identity is exact", `requesters: ["wechat:oAbc123"]`, Facts{RequesterIdentity: "wechat:oabc123"}, nil},
		{"requester contact", `requesters: ["contact:c-9"]`, Facts{RequesterContact: "c-9"}, []routing.Reason{reason(ReasonRequester, "requester", "contact:c-9")}},
		{"requester email: scheme", `requesters: ["email:bob@example.com"]`, Facts{RequesterEmail: "bob@example.com"}, []routing.Reason{reason(ReasonRequester, "requester", "email:bob@example.com")}},
		{"requester no", `requesters: [bob@example.com, "*@acme.com"]`, Facts{RequesterEmail: "eve@example.com"}, nil},
		{"inbound address ignores case", `inboundAddresses: [VIP@help.example.com]`, Facts{InboundAddress: "vip@help.example.com"}, []routing.Reason{reason(ReasonInboundAddress, "address", "vip@help.example.com")}},
		{"inbound address no", `inboundAddresses: [vip@help.example.com]`, Facts{InboundAddress: "support@help.example.com"}, nil},
		{"keyword in subject", `keywords: [密码, vpn]`, Facts{Subject: "如何重置密码", Description: "VPN down"}, []routing.Reason{reason(ReasonKeyword, "keyword", "密码", "field", "subject")}},
		{"keyword in description", `keywords: [密码, vpn]`, Facts{Subject: "help", Description: "VPN断线了"}, []routing.Reason{reason(ReasonKeyword, "keyword", "vpn", "field", "description")}},
		{"keyword no", `keywords: [vpn]`, Facts{Subject: "vpns", Description: "openvpn"}, nil},
		{"every condition", `
channels: [email]
customerTiers: [vip]
organizations: [Acme]
priorities: [P2]
tags: [urgent]
customFields: {region: [cn]}
requesters: ["*@acme.com"]
inboundAddresses: [vip@help.example.com]
keywords: [退款, refund]
businessHours: true`, Facts{
			Channel: "email", CustomerTier: "VIP", OrganizationName: "acme", Priority: 2, Tags: []string{"urgent"},
			CustomFields: map[string]string{"region": "cn"}, RequesterEmail: "li@acme.com", InboundAddress: "vip@help.example.com",
			Subject: "Refund please", Description: "我要退款", CreateTime: monday,
		}, []routing.Reason{
			reason(ReasonChannel, "channel", "email"),
			reason(ReasonTier, "tier", "VIP"),
			reason(ReasonOrganization, "organization", "Acme"),
			reason(ReasonPriority, "priority", "P2"),
			reason(ReasonTag, "tag", "urgent"),
			reason(ReasonCustomField, "field", "region", "value", "cn"),
			reason(ReasonRequester, "requester", "*@acme.com"),
			reason(ReasonInboundAddress, "address", "vip@help.example.com"),
			reason(ReasonBusinessHours, "open", "true"),
			reason(ReasonKeyword, "keyword", "refund", "field", "subject"), // the subject is read first
		}},
		{"every condition but one", `
channels: [email]
priorities: [P2]
keywords: [refund]`, Facts{Channel: "email", Priority: 3, Subject: "refund"}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			set := load(t, rule("r", "when:\n"+indent(c.when)+"then: {group: billing}"))
			got := set.Evaluate("default", c.facts, monday)
			var want Result
			if c.want != nil {
				want = Result{Group: "billing", Matched: []routing.RuleMatch{matched("r", c.want...)}}
			}
			if diff := cmp.Diff(want, got, reasonsEqual); diff != "" {
				t.Errorf("Evaluate (-want +got):\n%s", diff)
			}
		})
	}
}

func TestActions(t *testing.T) {
	always := []routing.RuleMatch{matched("r", reason(ReasonAlways))}
	for _, c := range []struct {
		name, then string
		want       Result
	}{
		{"group", `group: network`, Result{Group: "network"}},
		{"skills", `requireSkills: [{name: zh, minLevel: 3}, {name: billing}]`, Result{RequireSkills: []routing.SkillRequirement{{Name: "zh", MinLevel: 3}, {Name: "billing", MinLevel: 1}}}},
		{"tags", `addTags: [vip, 加急]`, Result{AddTags: []string{"vip", "加急"}}},
		{"priority", `priorityAtLeast: P2`, Result{PriorityAtLeast: 2}},
		{"custom fields", `setCustomFields: {queue: cn, sla: gold}`, Result{SetCustomFields: map[string]string{"queue": "cn", "sla": "gold"}}},
		{"all", `{group: vip, requireSkills: [{name: en, minLevel: 2}], addTags: [vip], priorityAtLeast: P1, setCustomFields: {queue: vip}}`, Result{
			Group: "vip", RequireSkills: []routing.SkillRequirement{{Name: "en", MinLevel: 2}}, AddTags: []string{"vip"}, PriorityAtLeast: 1,
			SetCustomFields: map[string]string{"queue": "vip"},
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			then := "then:\n" + indent(c.then)
			if c.then[0] == '{' {
				then = "then: " + c.then
			}
			set := load(t, rule("r", then))
			c.want.Matched = always
			if diff := cmp.Diff(c.want, set.Evaluate("default", Facts{}, monday), reasonsEqual); diff != "" {
				t.Errorf("Evaluate (-want +got):\n%s", diff)
			}
		})
	}
}

func TestStackingAndOrder(t *testing.T) {
	set := load(t,
		rule("tag-vip", `
order: 10
continue: true
when: {customerTiers: [vip]}
then: {addTags: [vip], requireSkills: [{name: zh, minLevel: 2}], priorityAtLeast: P3}`),
		rule("chinese", `
order: 20
continue: true
when: {keywords: [密码]}
then: {group: general, requireSkills: [{name: zh, minLevel: 4}, {name: billing}], addTags: [cn, vip], setCustomFields: {lang: zh}}`),
		rule("vip-desk", `
order: 30
when: {customerTiers: [vip]}
then: {group: vip, requireSkills: [{name: zh, minLevel: 1}], priorityAtLeast: P2, setCustomFields: {lang: zh-CN, desk: vip}}`),
		rule("never", `
order: 40
when: {customerTiers: [vip]}
then: {group: escalation}`),
		rule("everyone", `
order: 50
then: {group: general}`),
	)
	got := set.Evaluate("default", Facts{CustomerTier: "VIP", Subject: "忘记密码"}, monday)
	want := Result{
		Group:           "vip",
		RequireSkills:   []routing.SkillRequirement{{Name: "zh", MinLevel: 4}, {Name: "billing", MinLevel: 1}},
		AddTags:         []string{"vip", "cn"},
		PriorityAtLeast: 2,
		SetCustomFields: map[string]string{"lang": "zh-CN", "desk": "vip"},
		Matched: []routing.RuleMatch{
			matched("tag-vip", reason(ReasonTier, "tier", "VIP")),
			matched("chinese", reason(ReasonKeyword, "keyword", "密码", "field", "subject")),
			matched("vip-desk", reason(ReasonTier, "tier", "VIP")),
		},
	}
	if diff := cmp.Diff(want, got, reasonsEqual); diff != "" {
		t.Errorf("VIP ticket (-want +got):\n%s", diff)
	}

	got = set.Evaluate("default", Facts{Subject: "hello"}, monday)
	want = Result{Group: "general", Matched: []routing.RuleMatch{matched("everyone", reason(ReasonAlways))}}
	if diff := cmp.Diff(want, got, reasonsEqual); diff != "" {
		t.Errorf("other ticket (-want +got):\n%s", diff)
	}

	if got := set.Evaluate("acme", Facts{CustomerTier: "VIP"}, monday); !cmp.Equal(got, Result{}) {
		t.Errorf("another tenant's ticket: %+v, want no match", got)
	}
}

func TestOrder(t *testing.T) {
	// order 0 reads as 100; equal orders go by name.
	set := load(t,
		rule("b-unset", `{continue: true, then: {addTags: [b]}}`),
		rule("a-100", `{order: 100, continue: true, then: {addTags: [a]}}`),
		rule("z-first", `{order: 5, continue: true, then: {addTags: [z]}}`),
		rule("c-last", `{order: 1000, then: {addTags: [c]}}`),
	)
	var names []string
	for _, r := range set.Rules("default") {
		names = append(names, r.Name)
	}
	if diff := cmp.Diff([]string{"z-first", "a-100", "b-unset", "c-last"}, names); diff != "" {
		t.Errorf("rule order (-want +got):\n%s", diff)
	}
	if got := set.Evaluate("default", Facts{}, monday).AddTags; !cmp.Equal(got, []string{"z", "a", "b", "c"}) {
		t.Errorf("tags added in %v, want z a b c", got)
	}
	if got := set.Rules("default")[2].Spec.Order; got != 100 {
		t.Errorf("spec.order of a rule without one = %d, want 100", got)
	}
}

func TestBusinessHours(t *testing.T) {
	const shanghaiTenant = `apiVersion: kubedesk.io/v1alpha1
kind: HelpdeskTenant
metadata: {name: default}
spec:
  timeZone: Asia/Shanghai
  calendar:
    timeZone: Asia/Shanghai
    workingHours: [{days: [Mon, Tue, Wed, Thu, Fri], start: "09:00", end: "18:00"}]
    holidays: [{name: 国庆节, from: "2026-10-01", to: "2026-10-08"}]
    extraWorkingDays: ["2026-10-10"]`
	const zoneOnlyTenant = `apiVersion: kubedesk.io/v1alpha1
kind: HelpdeskTenant
metadata: {name: default}
spec: {timeZone: Asia/Shanghai}`
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	at := func(y int, m time.Month, d, h, mi int) time.Time { return time.Date(y, m, d, h, mi, 0, 0, shanghai) }
	open := rule("open", `{order: 10, when: {businessHours: true}, then: {group: general}}`)
	closed := rule("closed", `{order: 20, when: {businessHours: false}, then: {group: escalation}}`)
	ownCalendar := rule("weekend", `
order: 1
when:
  businessHours: true
  calendar:
    timeZone: Asia/Shanghai
    workingHours: [{days: [Sat, Sun], start: "10:00", end: "16:00"}]
then: {group: cn-desk}`)

	for _, c := range []struct {
		name   string
		docs   []string
		create time.Time
		group  string
	}{
		{"Monday 09:00 Shanghai", []string{shanghaiTenant, open, closed}, at(2026, 3, 2, 9, 0), "general"},
		{"Monday 17:59 Shanghai", []string{shanghaiTenant, open, closed}, at(2026, 3, 2, 17, 59), "general"},
		{"Monday 18:00 Shanghai", []string{shanghaiTenant, open, closed}, at(2026, 3, 2, 18, 0), "escalation"},
		{"Monday 02:00 UTC is 10:00 Shanghai", []string{shanghaiTenant, open, closed}, time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC), "general"},
		{"Saturday", []string{shanghaiTenant, open, closed}, at(2026, 3, 7, 11, 0), "escalation"},
		{"national day holiday", []string{shanghaiTenant, open, closed}, at(2026, 10, 5, 11, 0), "escalation"},
		{"make-up working Saturday", []string{shanghaiTenant, open, closed}, at(2026, 10, 10, 11, 0), "general"},
		{"tenant without calendar: 09-18 weekdays in its zone", []string{zoneOnlyTenant, open, closed}, at(2026, 3, 2, 9, 30), "general"},
		{"tenant without calendar, evening", []string{zoneOnlyTenant, open, closed}, at(2026, 3, 2, 19, 0), "escalation"},
		{"no tenant: 09-18 weekdays UTC", []string{open, closed}, time.Date(2026, 3, 2, 17, 0, 0, 0, time.UTC), "general"},
		{"no tenant, 18:00 UTC", []string{open, closed}, time.Date(2026, 3, 2, 18, 0, 0, 0, time.UTC), "escalation"},
		{"rule's own calendar", []string{shanghaiTenant, ownCalendar, open, closed}, at(2026, 3, 7, 11, 0), "cn-desk"},
		{"rule's own calendar, weekday", []string{shanghaiTenant, ownCalendar, open, closed}, at(2026, 3, 2, 11, 0), "general"},
	} {
		t.Run(c.name, func(t *testing.T) {
			set := load(t, c.docs...)
			got := set.Evaluate("default", Facts{CreateTime: c.create}, time.Time{})
			if got.Group != c.group {
				t.Errorf("group = %q, want %q (matched %+v)", got.Group, c.group, got.Matched)
			}
		})
	}

	// Without a creation time, now decides.
	set := load(t, shanghaiTenant, open, closed)
	if got := set.Evaluate("default", Facts{}, at(2026, 3, 3, 12, 0)).Group; got != "general" {
		t.Errorf("no creation time, now Tuesday noon: group %q, want general", got)
	}
	r := set.Rules("default")[0]
	if r.Calendar == nil || r.Calendar.TimeZone != "Asia/Shanghai" || len(r.Calendar.Holidays) != 1 {
		t.Errorf("rule's calendar = %+v, want the tenant's", r.Calendar)
	}
}

func TestChineseAndEnglishKeywords(t *testing.T) {
	set := load(t,
		rule("reset-cn", `{order: 1, when: {keywords: [如何重置密码]}, then: {group: general, addTags: [reset]}}`),
		rule("password-cn", `{order: 2, when: {keywords: [密码]}, then: {group: billing}}`),
		rule("vpn", `{order: 3, when: {keywords: [VPN 断线, vpn]}, then: {group: network}}`),
		rule("reset-en", `{order: 4, when: {keywords: [reset password]}, then: {group: general}}`),
	)
	for _, c := range []struct {
		subject, description string
		group                string
		reason               routing.Reason
	}{
		{"如何重置密码？", "", "general", reason(ReasonKeyword, "keyword", "如何重置密码", "field", "subject")},
		{"密码忘了", "", "billing", reason(ReasonKeyword, "keyword", "密码", "field", "subject")},
		{"请问", "怎么重置密码", "billing", reason(ReasonKeyword, "keyword", "密码", "field", "description")},
		{"VPN 断线", "", "network", reason(ReasonKeyword, "keyword", "VPN 断线", "field", "subject")},
		{"公司VPN断线了", "", "network", reason(ReasonKeyword, "keyword", "VPN 断线", "field", "subject")},
		{"ＶＰＮ　不能连接", "", "network", reason(ReasonKeyword, "keyword", "vpn", "field", "subject")},
		{"vpn down", "", "network", reason(ReasonKeyword, "keyword", "vpn", "field", "subject")},
		{"vpns down", "openvpn", "", routing.Reason{}},
		{"Please", "RESET\n  Password", "general", reason(ReasonKeyword, "keyword", "reset password", "field", "description")},
		{"ｒｅｓｅｔ　ｐａｓｓｗｏｒｄ", "", "general", reason(ReasonKeyword, "keyword", "reset password", "field", "subject")},
		{"password reset", "", "", routing.Reason{}},
	} {
		got := set.Evaluate("default", Facts{Subject: c.subject, Description: c.description}, monday)
		if got.Group != c.group {
			t.Errorf("%q / %q: group %q, want %q", c.subject, c.description, got.Group, c.group)
			continue
		}
		if c.group == "" {
			continue
		}
		if diff := cmp.Diff(c.reason, got.Matched[0].Reasons[0], reasonsEqual); diff != "" {
			t.Errorf("%q / %q: reason (-want +got):\n%s", c.subject, c.description, diff)
		}
	}
}
