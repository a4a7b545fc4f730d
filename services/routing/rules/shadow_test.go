package rules

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestShadowed(t *testing.T) {
	for _, c := range []struct {
		name           string
		earlier, later string // the rules' when, as flow YAML
		shadowed       bool
	}{
		{"catch-all", `{}`, `{channels: [email], keywords: [vpn]}`, true},
		{"same conditions", `{channels: [email]}`, `{channels: [email]}`, true},
		{"channel subset", `{channels: [email, chat]}`, `{channels: [chat]}`, true},
		{"channel superset", `{channels: [chat]}`, `{channels: [email, chat]}`, false},
		{"earlier tests what later does not", `{channels: [email]}`, `{priorities: [P1]}`, false},
		{"later adds a condition", `{channels: [email]}`, `{channels: [email], priorities: [P1]}`, true},
		{"tiers ignore case", `{customerTiers: [VIP, gold]}`, `{customerTiers: [vip]}`, true},
		{"organizations are exact", `{organizations: [Acme]}`, `{organizations: [acme]}`, false},
		{"priorities", `{priorities: [P1, P2]}`, `{priorities: [P1]}`, true},
		{"tags", `{tags: [vip, urgent]}`, `{tags: [urgent]}`, true},
		{"tags not", `{tags: [vip]}`, `{tags: [vip, urgent]}`, false},
		{"custom fields", `{customFields: {region: [cn, hk]}}`, `{customFields: {region: [cn], product: [vpn]}}`, true},
		{"custom fields other values", `{customFields: {region: [cn]}}`, `{customFields: {region: [cn, hk]}}`, false},
		{"custom field untested later", `{customFields: {region: [cn]}}`, `{customFields: {product: [vpn]}}`, false},
		{"requester domain covers address", `{requesters: ["*@acme.com"]}`, `{requesters: [Li@ACME.com, "*@acme.com"]}`, true},
		{"requester address does not cover domain", `{requesters: [li@acme.com]}`, `{requesters: ["*@acme.com"]}`, false},
		{"requester identity", `{requesters: ["wechat:oAbc"]}`, `{requesters: ["wechat:oAbc"]}`, true},
		{"inbound addresses ignore case", `{inboundAddresses: [VIP@help.example.com]}`, `{inboundAddresses: [vip@help.example.com]}`, true},
		{"CJK keyword inside a longer one", `{keywords: [密码]}`, `{keywords: [如何重置密码]}`, true},
		{"longer CJK keyword does not cover a shorter", `{keywords: [如何重置密码]}`, `{keywords: [密码]}`, false},
		{"word of a phrase", `{keywords: [password]}`, `{keywords: [reset password]}`, true},
		{"not a whole word of the later keyword", `{keywords: [vpn]}`, `{keywords: [vpns]}`, false},
		{"full-width keywords are the same", `{keywords: [ＶＰＮ]}`, `{keywords: [vpn]}`, true},
		{"Latin word inside a CJK keyword", `{keywords: [vpn]}`, `{keywords: [连接VPN断线]}`, true},
		// "VPN断线" is found in "openVPN断线", where "vpn" is not a word.
		{"Latin word at the edge of a CJK keyword", `{keywords: [vpn]}`, `{keywords: [VPN断线]}`, false},
		{"every later keyword must be covered", `{keywords: [vpn]}`, `{keywords: [vpn, 密码]}`, false},
		{"keywords any of earlier", `{keywords: [密码, vpn]}`, `{keywords: [vpn, 重置密码]}`, true},
		{"same business hours", `{businessHours: true}`, `{businessHours: true, channels: [email]}`, true},
		{"other business hours", `{businessHours: true}`, `{businessHours: false}`, false},
		{"business hours on another calendar", `{businessHours: true}`, `{businessHours: true, calendar: {timeZone: Asia/Shanghai, workingHours: [{days: [Mon], start: "09:00", end: "12:00"}]}}`, false},
		{"calendar without businessHours is no condition", `{calendar: {timeZone: Asia/Shanghai}}`, `{channels: [web]}`, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			set := load(t,
				rule("early", `{order: 10, when: `+c.earlier+`, then: {group: billing}}`),
				rule("late", `{order: 20, when: `+c.later+`, then: {group: network}}`),
			)
			late := set.Rules("default")[1]
			var want []string
			if c.shadowed {
				want = []string{`rule "late" is never reached: rule "early" (order 10) matches every ticket it matches and does not continue`}
			}
			if diff := cmp.Diff(want, noCalendarWarning(late.Warnings)); diff != "" {
				t.Errorf("warnings of the later rule (-want +got):\n%s", diff)
			}
		})
	}
}

func noCalendarWarning(ws []string) []string {
	var out []string
	for _, w := range ws {
		if w != calendarUnread {
			out = append(out, w)
		}
	}
	return out
}

const calendarUnread = "spec.when.calendar is set but spec.when.businessHours is not, so no condition reads the calendar"

func TestShadowWarnings(t *testing.T) {
	set := load(t,
		rule("tag-all", `{order: 1, continue: true, then: {addTags: [seen]}}`), // continues: shadows nothing
		rule("catch-all", `{order: 10, then: {group: general}}`),
		rule("late", `{order: 20, when: {keywords: [vpn]}, then: {group: network}}`),
		rule("later", `{order: 30, when: {channels: [email]}, then: {group: billing}}`),
		rule("odd", `{order: 40, when: {calendar: {timeZone: Asia/Shanghai}}, then: {group: vip}}`),
	)
	byName := map[string][]string{}
	for _, r := range set.Rules("default") {
		byName[r.Name] = r.Warnings
	}
	want := map[string][]string{
		"tag-all":   nil,
		"catch-all": nil,
		"late":      {`rule "late" is never reached: rule "catch-all" (order 10) matches every ticket it matches and does not continue`},
		"later":     {`rule "later" is never reached: rule "catch-all" (order 10) matches every ticket it matches and does not continue`},
		"odd": {
			calendarUnread,
			`rule "odd" is never reached: rule "catch-all" (order 10) matches every ticket it matches and does not continue`,
		},
	}
	if diff := cmp.Diff(want, byName); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
	wantSet := []string{
		`routing.yaml#2: rule "late" is never reached: rule "catch-all" (order 10) matches every ticket it matches and does not continue`,
		`routing.yaml#3: rule "later" is never reached: rule "catch-all" (order 10) matches every ticket it matches and does not continue`,
		`routing.yaml#4: ` + calendarUnread,
		`routing.yaml#4: rule "odd" is never reached: rule "catch-all" (order 10) matches every ticket it matches and does not continue`,
	}
	if diff := cmp.Diff(wantSet, set.Warnings()); diff != "" {
		t.Errorf("set warnings (-want +got):\n%s", diff)
	}
}
