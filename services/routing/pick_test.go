package routing

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

func online(id string, skills ...Skill) Agent {
	return Agent{ID: id, Presence: Online, Skills: skills}
}

func TestChoose(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	idleSince := func(a Agent, d time.Duration) Agent { a.LastAssignTime = t0.Add(-d); return a }
	tests := []struct {
		name  string
		s     Situation
		want  string
		codes []string // each candidate's reason code, in order
	}{{
		name:  "round robin takes the next member after the last picked",
		s:     Situation{Group: Group{Strategy: RoundRobin, Members: []string{"a", "b", "c"}}, Channel: "email", Agents: map[string]Agent{"a": online("a"), "b": online("b"), "c": online("c")}, LastPicked: "a"},
		want:  "b",
		codes: []string{ReasonChosenTurn, ReasonLaterTurn, ReasonLaterTurn},
	}, {
		name:  "round robin wraps around and skips the offline",
		s:     Situation{Group: Group{Strategy: RoundRobin, Members: []string{"a", "b", "c"}}, Channel: "email", Agents: map[string]Agent{"a": online("a"), "c": {ID: "c", Presence: Away}}, LastPicked: "b"},
		want:  "a",
		codes: []string{ReasonChosenTurn, ReasonOffline, ReasonOffline},
	}, {
		name:  "a member with no profile is offline",
		s:     Situation{Group: Group{Strategy: RoundRobin, Members: []string{"ghost"}}, Channel: "chat"},
		want:  "",
		codes: []string{ReasonOffline},
	}, {
		name: "least loaded by share of capacity on the channel",
		s: Situation{Group: Group{Strategy: LeastLoaded, Members: []string{"a", "b"}}, Channel: "chat",
			Agents: map[string]Agent{"a": online("a"), "b": {ID: "b", Presence: Online, Capacity: map[string]int{"chat": 10}}},
			Loads:  map[string]map[string]int{"a": {"chat": 1}, "b": {"chat": 2}}},
		want:  "b", // 2 of 10 beats 1 of 3
		codes: []string{ReasonChosenLoad, ReasonMoreLoaded},
	}, {
		name: "at capacity is passed over",
		s: Situation{Group: Group{Strategy: LeastLoaded, Members: []string{"a", "b"}}, Channel: "chat",
			Agents: map[string]Agent{"a": online("a"), "b": online("b")},
			Loads:  map[string]map[string]int{"a": {"chat": 3}, "b": {"chat": 2}}},
		want:  "b",
		codes: []string{ReasonChosenLoad, ReasonAtCapacity},
	}, {
		name: "a tie goes to the longest idle",
		s: Situation{Group: Group{Strategy: LeastLoaded, Members: []string{"a", "b", "c"}}, Channel: "email",
			Agents: map[string]Agent{"a": idleSince(online("a"), time.Minute), "b": idleSince(online("b"), time.Hour), "c": online("c")}},
		want:  "c", // never assigned: idle the longest
		codes: []string{ReasonChosenIdle, ReasonLessIdle, ReasonLessIdle},
	}, {
		name: "skills: required skill at level, then the best fit",
		s: Situation{Group: Group{Strategy: BySkills, Members: []string{"a", "b", "c"}}, Channel: "email",
			Skills: []SkillRequirement{{Name: "billing", MinLevel: 2}},
			Agents: map[string]Agent{
				"a": online("a", Skill{"billing", 1}), "b": online("b", Skill{"billing", 5}), "c": online("c", Skill{"billing", 3}),
			}},
		want:  "b",
		codes: []string{ReasonChosenSkill, ReasonLowerSkill, ReasonLacksSkill},
	}, {
		name: "round robin still requires the skills the rules ask for",
		s: Situation{Group: Group{Strategy: RoundRobin, Members: []string{"a", "b"}}, Channel: "email",
			Skills: []SkillRequirement{{Name: "zh"}},
			Agents: map[string]Agent{"a": online("a"), "b": online("b", Skill{"zh", 1})}},
		want:  "b",
		codes: []string{ReasonChosenTurn, ReasonLacksSkill},
	}, {
		name: "excluded agent",
		s: Situation{Group: Group{Strategy: RoundRobin, Members: []string{"a", "b"}}, Channel: "email",
			Agents: map[string]Agent{"a": online("a"), "b": online("b")}, Exclude: []string{"a"}},
		want:  "b",
		codes: []string{ReasonChosenTurn, ReasonExcluded},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Choose(tt.s)
			if p.Agent != tt.want {
				t.Errorf("agent = %q, want %q (candidates %+v)", p.Agent, tt.want, p.Candidates)
			}
			var codes []string
			for _, c := range p.Candidates {
				codes = append(codes, c.Reason.Code)
			}
			if diff := cmp.Diff(tt.codes, codes); diff != "" {
				t.Errorf("reason codes (-want +got):\n%s", diff)
			}
			if tt.want != "" && (len(p.Candidates) == 0 || !p.Candidates[0].Chosen || p.Candidates[0].Agent != tt.want) {
				t.Errorf("first candidate = %+v, want the chosen %q", p.Candidates, tt.want)
			}
		})
	}
}

// TestChooseRoundRobinFair: turns over ten online members differ by at
// most one however many tickets go round.
func TestChooseRoundRobinFair(t *testing.T) {
	var members []string
	agents := map[string]Agent{}
	for i := range 10 {
		id := fmt.Sprintf("a%d", i)
		members = append(members, id)
		agents[id] = online(id)
	}
	g := Group{Strategy: RoundRobin, Members: members}
	counts := map[string]int{}
	last := ""
	for range 95 {
		p := Choose(Situation{Group: g, Channel: "email", Agents: agents, LastPicked: last})
		counts[p.Agent]++
		last = p.Agent
	}
	lo, hi := 1<<30, 0
	for _, n := range counts {
		lo, hi = min(lo, n), max(hi, n)
	}
	if hi-lo > 1 || len(counts) != 10 {
		t.Errorf("turns = %v, want every member within one of the others", counts)
	}
}

func TestExplain(t *testing.T) {
	d := Decision{
		Outcome: Assigned, Group: "billing", Agent: "u1", Strategy: LeastLoaded,
		Rules: []RuleMatch{{Rule: "invoices", Reasons: []Reason{{Code: "rule.keyword", Args: map[string]string{"keyword": "发票", "field": "subject"}}}}},
		Candidates: []Candidate{
			{Agent: "u1", Chosen: true, Reason: Reason{Code: ReasonChosenLoad, Args: map[string]string{"channel": "email", "load": "1", "limit": "10"}}},
			{Agent: "u2", Reason: Reason{Code: ReasonOffline, Args: map[string]string{"presence": "offline"}}},
			{Agent: "u3", Reason: Reason{Code: ReasonLacksSkill, Args: map[string]string{"skill": "billing", "need": "2", "have": "0"}}},
		},
	}
	names := func(id string) string { return map[string]string{"u1": "王芳", "u2": "Li Lei", "u3": "Ann"}[id] }
	tests := []struct {
		lang Lang
		want []string
	}{
		{English, []string{
			"Assigned to 王芳 in group billing by least load.",
			`Rule invoices matched: the subject contains "发票".`,
			"王芳 has the lightest load: 1 of 10 e-mail tickets",
			"Li Lei is offline", "Ann lacks skill billing at level 2 (has 0).",
		}},
		{Chinese, []string{
			"按最少负载分配给billing组的王芳。", "规则 invoices 匹配：标题包含“发票”。",
			"王芳负载最低：邮件工单 1/10", "Li Lei离线", "Ann缺少技能 billing（需要 2 级，现有 0 级）。",
		}},
	}
	for _, tt := range tests {
		got := Explain(d, tt.lang, names)
		for _, w := range tt.want {
			if !strings.Contains(got, w) {
				t.Errorf("Explain(%v) = %q\nwant it to contain %q", tt.lang, got, w)
			}
		}
		if strings.Contains(got, "{") {
			t.Errorf("Explain(%v) = %q has an unfilled placeholder", tt.lang, got)
		}
	}
}

func TestSentencesComplete(t *testing.T) {
	for code, s := range sentences {
		for lang, text := range s {
			if text == "" {
				t.Errorf("%s has no sentence in language %d", code, lang)
			}
		}
		en, zh := placeholder.FindAllString(s[English], -1), placeholder.FindAllString(s[Chinese], -1)
		if len(en) != len(zh) {
			t.Errorf("%s: the English sentence names %v, the Chinese %v", code, en, zh)
		}
	}
}

func TestLangOf(t *testing.T) {
	for loc, want := range map[string]Lang{"zh-CN": Chinese, "zh": Chinese, "zh-Hans-CN": Chinese, "en": English, "": English, "de-DE": English} {
		if got := LangOf(loc); got != want {
			t.Errorf("LangOf(%q) = %v, want %v", loc, got, want)
		}
	}
}

func TestSlug(t *testing.T) {
	for in, want := range map[string]string{"Billing": "billing", "Tier 2 Support": "tier-2-support", "账单组": "", "VIP 客户": "vip", "  --x--  ": "x"} {
		if got := slug(in); got != want {
			t.Errorf("slug(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDecisionMetrics(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	r := &Router{Meter: sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)).Meter(MeterName)}
	r.observe(Decision{Trigger: TriggerCreated, Outcome: Assigned}, time.Now().Add(-3*time.Millisecond))
	r.observe(Decision{Trigger: TriggerClaim, Outcome: Assigned}, time.Now())
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(t.Context(), &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch data := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range data.DataPoints {
					trigger, _ := p.Attributes.Value("trigger")
					got[m.Name+"/"+trigger.AsString()] += p.Value
				}
			case metricdata.Histogram[float64]:
				for _, p := range data.DataPoints {
					got[m.Name] += int64(p.Count)
				}
			}
		}
	}
	want := map[string]int64{"kubedesk_routing_decisions/created": 1, "kubedesk_routing_decisions/claim": 1, "kubedesk_routing_decision_duration": 2}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("metrics (-want +got):\n%s", diff)
	}
}
