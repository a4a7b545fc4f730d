package rules

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// benchRules is a realistic set of 200 rules: most test keywords (five
// each, English and Chinese), many with a channel, priority, tier or tag
// as well; some only add tags and continue; the last catches the rest.
func benchRules() []string {
	english := []string{"invoice", "refund", "vpn", "password", "login", "printer", "outlook", "billing", "crash", "timeout",
		"upgrade", "license", "delivery", "shipping", "warranty", "exchange", "cancel", "subscription", "api key", "reset password",
		"two factor", "sso", "wifi", "laptop", "monitor", "keyboard", "error 500", "slow", "latency", "dns"}
	chinese := []string{"退款", "发票", "密码", "登录", "断线", "打印机", "账单", "崩溃", "超时", "升级", "许可证", "快递", "物流", "保修",
		"换货", "取消订单", "订阅", "重置密码", "验证码", "无线网络", "笔记本", "显示器", "键盘", "很慢", "延迟", "域名", "如何", "投诉", "发货", "售后"}
	channels := []string{"web", "email", "chat", "wechat", "api", "phone"}
	rng := rand.New(rand.NewPCG(1, 2))
	var docs []string
	for i := range 199 {
		var when []string
		var kws []string
		for range 5 {
			if rng.IntN(2) == 0 {
				kws = append(kws, fmt.Sprintf("%q", english[rng.IntN(len(english))]+fmt.Sprint(i%7)))
			} else {
				kws = append(kws, chinese[rng.IntN(len(chinese))]+fmt.Sprint(i%7))
			}
		}
		if i%10 != 0 {
			when = append(when, "keywords: ["+strings.Join(kws, ", ")+"]")
		}
		if i%3 == 0 {
			when = append(when, "channels: ["+channels[i%6]+", "+channels[(i+1)%6]+"]")
		}
		if i%4 == 0 {
			when = append(when, fmt.Sprintf("priorities: [P%d, P%d]", 1+i%5, 1+(i+2)%5))
		}
		if i%5 == 0 {
			when = append(when, "customerTiers: [vip, gold]")
		}
		if i%10 == 0 {
			when = append(when, fmt.Sprintf("tags: [t%d, t%d]", i, i+1))
		}
		then := fmt.Sprintf("group: g%d, requireSkills: [{name: s%d, minLevel: %d}]", i%50, i%20, 1+i%5)
		cont := ""
		if i%25 == 0 {
			then = fmt.Sprintf("addTags: [seen-%d]", i)
			cont = "continue: true, "
		}
		docs = append(docs, rule(fmt.Sprintf("rule-%03d", i), fmt.Sprintf("{order: %d, %swhen: {%s}, then: {%s}}", 10+i, cont, strings.Join(when, ", "), then)))
	}
	docs = append(docs, rule("catch-all", "{order: 100000, then: {group: g0}}"))
	return docs
}

// benchTicket is about 2 KB of subject and description in English and
// Chinese that none of the keyword rules match, so that every rule is
// tried.
func benchTicket() Facts {
	en := "Hello team, since this morning our office network keeps dropping and the shared drive is unreachable from most desks. "
	zh := "你好，今天上午开始办公室网络一直不稳定，共享盘在大部分工位都打不开，麻烦尽快处理，谢谢。"
	var b strings.Builder
	for b.Len() < 1900 {
		b.WriteString(en)
		b.WriteString(zh)
	}
	return Facts{Channel: "email", Priority: 3, CustomerTier: "standard", Tags: []string{"x"},
		Subject: "Network 一直断开, please help", Description: b.String(), CreateTime: monday}
}

func benchCatalogue() catalogue {
	cat := catalogue{groups: map[string][]string{}, skills: map[string][]string{}}
	for i := range 50 {
		cat.groups["default"] = append(cat.groups["default"], fmt.Sprintf("g%d", i))
	}
	for i := range 20 {
		cat.skills["default"] = append(cat.skills["default"], fmt.Sprintf("s%d", i))
	}
	return cat
}

func TestBenchRulesAreRealistic(t *testing.T) {
	set, err := Load(writeConfig(t, benchRules()...), benchCatalogue())
	if err != nil {
		t.Fatal(err)
	}
	if n := len(set.Rules("default")); n != 200 {
		t.Fatalf("%d rules, want 200", n)
	}
	res := set.Evaluate("default", benchTicket(), monday)
	if last := res.Matched[len(res.Matched)-1].Rule; last != "catch-all" || res.Group != "g0" {
		t.Errorf("the benchmark ticket ends at %s in %s; want every rule tried and catch-all to take it", last, res.Group)
	}
	f := benchTicket()
	f.Description += " 请帮忙重置密码3"
	if res := set.Evaluate("default", f, monday); res.Group == "g0" {
		t.Errorf("a keyword of the set matched no rule: %+v", res.Matched)
	}
}

// BenchmarkEvaluate evaluates 200 rules (about 900 keywords) against a
// ticket with 2 KB of text that reaches the last rule.
func BenchmarkEvaluate(b *testing.B) {
	set, err := Load(writeConfig(b, benchRules()...), benchCatalogue())
	if err != nil {
		b.Fatal(err)
	}
	f := benchTicket()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		set.Evaluate("default", f, monday)
	}
}

// BenchmarkFold is the share of BenchmarkEvaluate spent folding the text.
func BenchmarkFold(b *testing.B) {
	f := benchTicket()
	b.ReportAllocs()
	for b.Loop() {
		fold(f.Subject)
		fold(f.Description)
	}
}
