package routing

import (
	"regexp"
	"strings"
)

// Lang is a language decisions are explained in.
type Lang int

// The languages of the explanations.
const (
	English Lang = iota
	Chinese
)

// LangOf is the language for a locale: Chinese for zh and its variants
// (zh-CN, zh-Hans-CN), English for every other.
func LangOf(locale string) Lang {
	if l := strings.ToLower(locale); l == "zh" || strings.HasPrefix(l, "zh-") || strings.HasPrefix(l, "zh_") {
		return Chinese
	}
	return English
}

// sentences holds each reason code's sentence in English and Chinese.
// {name} stands for the argument name; {agent}, {after} and {by} name
// agents and read as their display names.
var sentences = map[string][2]string{
	// Candidates (pick.go).
	ReasonOffline:     {"{agent} is {presence}", "{agent}{presence}"},
	ReasonExcluded:    {"{agent} is the agent the ticket moves away from", "{agent}是工单转出前的处理人"},
	ReasonAtCapacity:  {"{agent} is at capacity: {load} of {limit} {channel} tickets", "{agent}已满负荷：{channel}工单 {load}/{limit}"},
	ReasonLacksSkill:  {"{agent} lacks skill {skill} at level {need} (has {have})", "{agent}缺少技能 {skill}（需要 {need} 级，现有 {have} 级）"},
	ReasonChosenTurn:  {"{agent} is next in turn", "轮到{agent}"},
	ReasonChosenLoad:  {"{agent} has the lightest load: {load} of {limit} {channel} tickets", "{agent}负载最低：{channel}工单 {load}/{limit}"},
	ReasonChosenSkill: {"{agent} fits the required skills best (score {score}), with {load} of {limit} {channel} tickets", "{agent}技能最匹配（得分 {score}），{channel}工单 {load}/{limit}"},
	ReasonChosenIdle:  {"{agent} ties with others by {strategy} and has waited longest since its last ticket", "{agent}与其他人{strategy}条件相同，且距上次分配最久"},
	ReasonLaterTurn:   {"{agent} comes later in turn", "{agent}排在后面"},
	ReasonMoreLoaded:  {"{agent} has more load: {load} of {limit} {channel} tickets", "{agent}负载更高：{channel}工单 {load}/{limit}"},
	ReasonLowerSkill:  {"{agent} fits the required skills less well (score {score})", "{agent}技能匹配度较低（得分 {score}）"},
	ReasonLessIdle:    {"{agent} ties but got a ticket more recently", "{agent}条件相同，但最近刚分配过工单"},

	// Rules (services/routing/rules).
	"rule.always":          {"it matches every ticket", "匹配所有工单"},
	"rule.channel":         {"the ticket came by {channel}", "工单来自{channel}"},
	"rule.tier":            {"the customer's tier is {tier}", "客户等级为 {tier}"},
	"rule.organization":    {"the customer belongs to {organization}", "客户属于 {organization}"},
	"rule.priority":        {"the priority is {priority}", "优先级为 {priority}"},
	"rule.tag":             {"the ticket is tagged {tag}", "工单带有标签 {tag}"},
	"rule.custom_field":    {"field {field} is \"{value}\"", "字段 {field} 为“{value}”"},
	"rule.requester":       {"the requester matches {requester}", "请求人匹配 {requester}"},
	"rule.keyword":         {"the {field} contains \"{keyword}\"", "{field}包含“{keyword}”"},
	"rule.inbound_address": {"it was sent to {address}", "发送至 {address}"},
	"rule.business_hours":  {"it came {open} business hours", "{open}工作时间内提交"},

	// Decisions.
	"decision.assigned": {"Assigned to {agent} in group {group} by {strategy}.", "按{strategy}分配给{group}组的{agent}。"},
	"decision.queued":   {"Queued in group {group}: nobody may take it now.", "已进入{group}组的队列：目前没有可接单的客服。"},
	"decision.offered":  {"Offered to the members of pool group {group} to claim.", "已放入{group}组的抢单池，等待组员抢单。"},
	"decision.unrouted": {"Not routed: no rule set a group and the ticket's group is not a routing group.", "未分配：没有规则指定组，工单所在组也不是路由组。"},
	"decision.rule":     {"Rule {rule} matched: {reasons}.", "规则 {rule} 匹配：{reasons}。"},
	"decision.no_rule":  {"No rule matched.", "没有规则匹配。"},

	"note.group_closed":  {"Group {group} is outside its working hours until {opens}.", "{group}组在 {opens} 之前不在工作时间。"},
	"note.unknown_group": {"Group {group} is not a routing group.", "{group}不是路由组。"},
	"note.overflow":      {"Moved from group {from} after waiting {after}.", "在{from}组等待 {after} 后转入本组。"},
	"note.claimed":       {"{agent} claimed it from the pool.", "{agent}从抢单池抢到了该工单。"},
	"note.transferred":   {"{by} transferred it.", "{by}转交了该工单。"},
	"note.returned":      {"It returned from {agent}, who went offline without answering.", "{agent}离线且未回复，工单已退回队列。"},
	"note.unassigned":    {"It was unassigned.", "工单被取消分配。"},
}

// words translates the values that arguments carry.
var words = map[string][2]string{
	"online": {"online", "在线"}, "away": {"away", "暂离"}, "offline": {"offline", "离线"},
	"round_robin": {"round robin", "轮询"}, "least_loaded": {"least load", "最少负载"},
	"skills": {"skills", "技能匹配"}, "pool": {"pool", "抢单池"},
	"email": {"e-mail", "邮件"}, "chat": {"chat", "在线聊天"}, "wechat": {"WeChat", "微信"},
	"web": {"web", "网页"}, "api": {"API", "API"}, "phone": {"phone", "电话"},
	"subject": {"subject", "标题"}, "description": {"description", "描述"},
	"true": {"inside", "在"}, "false": {"outside", "不在"},
}

var placeholder = regexp.MustCompile(`\{([a-z_]+)\}`)

// Names turns user IDs into the names people know them by.
type Names func(id string) string

// Render is the sentence of r in lang. Arguments naming agents read as
// their display names, through names (nil: the IDs); the candidate's own
// agent is given as agent.
func Render(r Reason, agent string, lang Lang, names Names) string {
	tmpl, ok := sentences[r.Code]
	if !ok {
		return r.Code
	}
	return fill(tmpl[lang], lang, names, func(k string) (string, bool) {
		if k == "agent" && agent != "" {
			return agent, true
		}
		v, ok := r.Args[k]
		return v, ok
	})
}

func fill(tmpl string, lang Lang, names Names, arg func(string) (string, bool)) string {
	return placeholder.ReplaceAllStringFunc(tmpl, func(m string) string {
		k := m[1 : len(m)-1]
		v, ok := arg(k)
		if !ok {
			return m
		}
		switch k {
		case "agent", "after", "by":
			if names != nil && v != "" {
				return names(v)
			}
		}
		switch k {
		case "presence", "strategy", "channel", "field", "open":
			if w, ok := words[v]; ok {
				return w[lang]
			}
		}
		return v
	})
}

// Explain is the decision as one paragraph in lang: what it did, the
// rules that matched, the notes, and the reasons of each candidate.
func Explain(d Decision, lang Lang, names Names) string {
	if d.ActorID != "" && d.ActorDisplayName != "" {
		// The actor may be no user (an API key): its name is on the
		// decision.
		inner := names
		names = func(id string) string {
			if id == d.ActorID {
				return d.ActorDisplayName
			}
			if inner == nil {
				return id
			}
			return inner(id)
		}
	}
	var b strings.Builder
	sep := " "
	if lang == Chinese {
		sep = ""
	}
	add := func(s string) {
		if b.Len() > 0 {
			b.WriteString(sep)
		}
		b.WriteString(s)
	}
	args := map[string]string{"agent": d.Agent, "group": d.Group, "strategy": string(d.Strategy)}
	add(fill(sentences["decision."+string(d.Outcome)][lang], lang, names, func(k string) (string, bool) { v, ok := args[k]; return v, ok }))
	for _, n := range d.Notes {
		add(Render(n, "", lang, names))
	}
	if len(d.Rules) == 0 && d.Trigger != TriggerClaim && d.Trigger != TriggerTransfer {
		add(sentences["decision.no_rule"][lang])
	}
	list := ", "
	if lang == Chinese {
		list = "，"
	}
	for _, m := range d.Rules {
		reasons := make([]string, len(m.Reasons))
		for i, r := range m.Reasons {
			reasons[i] = Render(r, "", lang, names)
		}
		add(fill(sentences["decision.rule"][lang], lang, names, func(k string) (string, bool) {
			switch k {
			case "rule":
				return m.Rule, true
			case "reasons":
				return strings.Join(reasons, list), true
			}
			return "", false
		}))
	}
	var cands []string
	for _, c := range d.Candidates {
		cands = append(cands, Render(c.Reason, c.Agent, lang, names))
	}
	if len(cands) > 0 {
		end := "."
		if lang == Chinese {
			end = "。"
		}
		add(strings.Join(cands, map[Lang]string{English: "; ", Chinese: "；"}[lang]) + end)
	}
	return b.String()
}
