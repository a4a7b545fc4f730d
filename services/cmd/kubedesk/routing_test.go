package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// routingConfig is a --config file for the routing tests: quick sweeps, a
// short grace for offline agents, and rules in Chinese and English.
const routingConfig = `apiVersion: kubedesk.io/v1alpha1
kind: KubedeskConfig
spec:
  routing: {sweepInterval: 100ms, offlineGrace: 1s}
---
apiVersion: kubedesk.io/v1alpha1
kind: HelpdeskTenant
metadata: {name: default}
spec: {locale: zh-CN, timeZone: Asia/Shanghai}
---
apiVersion: kubedesk.io/v1alpha1
kind: HelpdeskTenant
metadata: {name: acme}
spec: {}
---
apiVersion: kubedesk.io/v1alpha1
kind: RoutingRule
metadata: {name: invoices}
spec:
  tenantRef: {name: default}
  order: 10
  when: {keywords: [发票, 开票, invoice, refund]}
  then: {group: billing, addTags: [billing]}
---
apiVersion: kubedesk.io/v1alpha1
kind: RoutingRule
metadata: {name: vpn}
spec:
  tenantRef: {name: default}
  order: 20
  when: {keywords: [VPN, 断线]}
  then: {group: network, requireSkills: [{name: network, minLevel: 2}], priorityAtLeast: P2}
---
apiVersion: kubedesk.io/v1alpha1
kind: RoutingRule
metadata: {name: chats-to-pool}
spec:
  tenantRef: {name: default}
  order: 30
  when: {keywords: [抢单]}
  then: {group: grab}
---
apiVersion: kubedesk.io/v1alpha1
kind: RoutingRule
metadata: {name: invoices-again}
spec:
  tenantRef: {name: default}
  order: 40
  when: {keywords: [发票]}
  then: {group: billing}
`

// agentUser is an agent of the routing tests, signed in.
type agentUser struct {
	id   string
	name string
	s    session
}

// newAgent creates an agent user and signs it in.
func newAgent(t *testing.T, srv *instance, email, name, locale string, headers ...string) agentUser {
	t.Helper()
	const password = "correct horse battery staple"
	u := srv.mustCall(t, http.StatusOK, "POST", "/v1/users", map[string]any{
		"email": email, "displayName": name, "password": password, "locale": locale, "roles": []string{"ROLE_AGENT"},
	}, headers...)
	r := srv.mustCall(t, http.StatusOK, "POST", "/v1/sessions", map[string]any{"email": email, "password": password}, append([]string{"Authorization", ""}, headers...)...)
	token, _, _ := strings.Cut(strings.TrimPrefix(r.header.Get("Set-Cookie"), "kd_session="), ";")
	return agentUser{id: u.str("id"), name: name, s: session{token: token, csrf: r.str("csrfToken")}}
}

// waitFor polls until ok holds, for up to 10 s.
func waitRouted(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// assigneeOf waits until the ticket has an assignee and returns it.
func assigneeOf(t *testing.T, srv *instance, id string) string {
	t.Helper()
	var who string
	waitRouted(t, "ticket "+id+" to be assigned", func() bool {
		who = srv.mustCall(t, http.StatusOK, "GET", "/v1/tickets/"+id, nil).str("assignee")
		return who != ""
	})
	return who
}

func decisionsOf(t *testing.T, srv *instance, id string, headers ...string) []map[string]any {
	t.Helper()
	r := srv.mustCall(t, http.StatusOK, "GET", "/v1/tickets/"+id+"/routing", nil, headers...)
	var out []map[string]any
	for _, d := range asList(r.json["decisions"]) {
		out = append(out, d.(map[string]any))
	}
	return out
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "routing.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRouting(t *testing.T) {
	for engine, args := range engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			srv := startServe(t, append(args, "--config="+writeConfig(t, routingConfig))...)
			f := newRoutingFixture(t, srv)
			t.Run("rules and explanations", func(t *testing.T) { testRoutingRules(t, srv, f) })
			t.Run("round robin", func(t *testing.T) { testRoundRobin(t, srv, f) })
			t.Run("queue and capacity", func(t *testing.T) { testQueueAndCapacity(t, srv, f) })
			t.Run("claims", func(t *testing.T) { testClaims(t, srv, f) })
			t.Run("transfers", func(t *testing.T) { testTransfers(t, srv, f) })
			t.Run("offline agents", func(t *testing.T) { testOfflineAgents(t, srv, f) })
			t.Run("overflow and heartbeats", func(t *testing.T) { testOverflowAndHeartbeats(t, srv, f) })
			t.Run("bad input", func(t *testing.T) { testRoutingBadInput(t, srv, f) })
		})
	}
}

type routingFixture struct {
	wang, li, zhang, chen agentUser // billing: wang, li, zhang; network: chen; grab: wang, li
}

func newRoutingFixture(t *testing.T, srv *instance) routingFixture {
	f := routingFixture{
		wang:  newAgent(t, srv, "wang.fang@example.com", "王芳", "zh-CN"),
		li:    newAgent(t, srv, "li.lei@example.com", "Li Lei", "en"),
		zhang: newAgent(t, srv, "zhang.wei@example.com", "张伟", "zh-CN"),
		chen:  newAgent(t, srv, "chen.jing@example.com", "陈静", "zh-CN"),
	}
	srv.mustCall(t, http.StatusOK, "POST", "/v1/groups", map[string]any{"displayName": "Billing 账单", "strategy": "STRATEGY_ROUND_ROBIN",
		"members": []string{f.wang.id, f.li.id, f.zhang.id}})
	srv.mustCall(t, http.StatusOK, "POST", "/v1/groups?groupId=network", map[string]any{"displayName": "网络组", "strategy": "STRATEGY_SKILLS",
		"members": []string{f.chen.id, f.li.id}})
	srv.mustCall(t, http.StatusOK, "POST", "/v1/groups?groupId=grab", map[string]any{"displayName": "抢单池", "strategy": "STRATEGY_POOL",
		"members": []string{f.wang.id, f.li.id}})
	srv.mustCall(t, http.StatusOK, "PATCH", "/v1/agents/"+f.chen.id, map[string]any{"skills": []any{map[string]any{"name": "network", "level": 4}}})
	srv.mustCall(t, http.StatusOK, "PATCH", "/v1/agents/"+f.li.id, map[string]any{"skills": []any{map[string]any{"name": "network", "level": 1}}})
	// The rules name groups that did not exist when the file was read:
	// they are in force once the groups are.
	waitRouted(t, "the routing rules to be in force", func() bool {
		r := srv.mustCall(t, http.StatusOK, "GET", "/v1/routingRules", nil)
		return len(asList(r.json["routingRules"])) == 4
	})
	for _, a := range []agentUser{f.wang, f.li, f.zhang} {
		srv.mustCall(t, http.StatusOK, "PATCH", "/v1/agents/"+a.id, map[string]any{"capacity": map[string]int{"api": 50}})
		srv.mustCall(t, http.StatusOK, "PUT", "/v1/agents/me/presence", map[string]any{"presence": "PRESENCE_ONLINE"}, a.s.headers()...)
	}
	return f
}

func testRoutingRules(t *testing.T, srv *instance, f routingFixture) {
	id := srv.create(t, map[string]any{"subject": "发票开错了", "description": "请重新开票"}).str("id")
	who := assigneeOf(t, srv, id)
	if who != f.wang.id && who != f.li.id && who != f.zhang.id {
		t.Fatalf("assignee %q, want a member of billing", who)
	}
	got := srv.mustCall(t, http.StatusOK, "GET", "/v1/tickets/"+id, nil)
	if got.str("group") != "billing" || !strings.Contains(string(got.body), `"billing"`) {
		t.Errorf("ticket %s: want group billing and the tag billing", got.body)
	}
	ds := decisionsOf(t, srv, id, f.wang.s.headers()...)
	if len(ds) != 1 || ds[0]["outcome"] != "OUTCOME_ASSIGNED" || ds[0]["trigger"] != "TRIGGER_CREATED" {
		t.Fatalf("decisions %v: want one assignment on creation", ds)
	}
	// 王芳 reads Chinese; Li Lei English.
	zh := ds[0]["explanation"].(string)
	if !strings.Contains(zh, "规则 invoices 匹配") || !strings.Contains(zh, "轮询") {
		t.Errorf("Chinese explanation %q: want the rule and the strategy", zh)
	}
	en := decisionsOf(t, srv, id, f.li.s.headers()...)[0]["explanation"].(string)
	if !strings.Contains(en, "Rule invoices matched") || !strings.Contains(en, "round robin") {
		t.Errorf("English explanation %q: want the rule and the strategy", en)
	}
	// English whole words: "invoices" is not "invoice".
	other := srv.create(t, map[string]any{"subject": "Where are my invoices?"}).str("id")
	waitRouted(t, "the decision on the second ticket", func() bool { return len(decisionsOf(t, srv, other)) == 1 })
	if d := decisionsOf(t, srv, other)[0]; d["outcome"] != "OUTCOME_UNROUTED" {
		t.Errorf("\"invoices\" matched the whole word invoice: %v", d)
	}
	// The rule set in force, with where it came from.
	rules := srv.mustCall(t, http.StatusOK, "GET", "/v1/routingRules", nil)
	if !strings.Contains(string(rules.body), "routing.yaml#") {
		t.Errorf("routing rules %s: want each rule's source", rules.body)
	}
	// A rule an earlier one always takes first is accepted, with a warning.
	if !strings.Contains(string(rules.body), `rule \"invoices-again\" is never reached: rule \"invoices\"`) {
		t.Errorf("routing rules %s: want the warning that invoices-again is shadowed by invoices", rules.body)
	}
}

func testRoundRobin(t *testing.T, srv *instance, f routingFixture) {
	counts := map[string]int{}
	var ids []string
	for i := range 30 {
		ids = append(ids, srv.create(t, map[string]any{"subject": fmt.Sprintf("invoice %d is wrong", i)}).str("id"))
	}
	for _, id := range ids {
		counts[assigneeOf(t, srv, id)]++
	}
	lo, hi := 1<<30, 0
	for _, n := range counts {
		lo, hi = min(lo, n), max(hi, n)
	}
	if len(counts) != 3 || hi-lo > 1 {
		t.Errorf("round robin over three agents: %v, want each within one of the others", counts)
	}
}

func testQueueAndCapacity(t *testing.T, srv *instance, f routingFixture) {
	// chen is the only network agent with the skill at level 2, and is
	// offline: the ticket waits in the queue, at P2 or higher.
	id := srv.create(t, map[string]any{"subject": "VPN 断线了", "impact": 3, "urgency": 3}).str("id")
	waitRouted(t, "the VPN ticket to be queued", func() bool { return len(decisionsOf(t, srv, id)) == 1 })
	d := decisionsOf(t, srv, id)[0]
	if d["outcome"] != "OUTCOME_QUEUED" || !strings.Contains(fmt.Sprint(d["candidates"]), "agent.lacks_skill") {
		t.Fatalf("decision %v: want queued, Li Lei lacking the skill", d)
	}
	// The decision is listed once stored, a moment before it is applied.
	waitRouted(t, "the priority to be raised to P2", func() bool {
		return srv.mustCall(t, http.StatusOK, "GET", "/v1/tickets/"+id, nil).str("priority") == "PRIORITY_P2"
	})
	g := srv.mustCall(t, http.StatusOK, "GET", "/v1/groups/network", nil)
	if g.json["queued"] != float64(1) {
		t.Errorf("network group %s: want one queued", g.body)
	}
	// chen comes online with room for one e-mail ticket... and gets it.
	srv.mustCall(t, http.StatusOK, "PATCH", "/v1/agents/"+f.chen.id, map[string]any{"capacity": map[string]int{"api": 1}})
	srv.mustCall(t, http.StatusOK, "PUT", "/v1/agents/me/presence", map[string]any{"presence": "PRESENCE_ONLINE"}, f.chen.s.headers()...)
	if who := assigneeOf(t, srv, id); who != f.chen.id {
		t.Fatalf("assignee %q, want chen", who)
	}
	// A second VPN ticket finds chen at capacity: queued until the first
	// is solved.
	second := srv.create(t, map[string]any{"subject": "VPN again"}).str("id")
	waitRouted(t, "the second VPN ticket to be queued", func() bool { return len(decisionsOf(t, srv, second)) == 1 })
	if d := decisionsOf(t, srv, second)[0]; !strings.Contains(fmt.Sprint(d["candidates"]), "agent.at_capacity") {
		t.Errorf("decision %v: want chen at capacity", d)
	}
	ticket := srv.mustCall(t, http.StatusOK, "GET", "/v1/tickets/"+id, nil)
	srv.mustCall(t, http.StatusOK, "PATCH", "/v1/tickets/"+id, map[string]any{"status": "STATUS_SOLVED", "etag": ticket.str("etag")})
	if who := assigneeOf(t, srv, second); who != f.chen.id {
		t.Errorf("assignee %q, want chen once the first is solved", who)
	}
	agent := srv.mustCall(t, http.StatusOK, "GET", "/v1/agents/"+f.chen.id, nil)
	if load := agent.json["load"].(map[string]any)["api"]; load != float64(1) {
		t.Errorf("chen's load %v, want 1 api ticket", agent.json["load"])
	}
}

func testClaims(t *testing.T, srv *instance, f routingFixture) {
	id := srv.create(t, map[string]any{"subject": "抢单测试"}).str("id")
	waitRouted(t, "the offer", func() bool { return len(decisionsOf(t, srv, id)) == 1 })
	if d := decisionsOf(t, srv, id)[0]; d["outcome"] != "OUTCOME_OFFERED" {
		t.Fatalf("decision %v: want offered in the pool", d)
	}
	// zhang is not in the pool group.
	if r := srv.call(t, "POST", "/v1/tickets/"+id+":claim", map[string]any{}, f.zhang.s.headers()...); r.code != http.StatusForbidden || !strings.Contains(r.str("message"), "not a member") {
		t.Errorf("claim by a non-member: %d %s, want 403", r.code, r.body)
	}
	// Ten claims at once from wang and li: one wins.
	var wg sync.WaitGroup
	codes := make([]int, 10)
	bodies := make([]string, 10)
	for i := range 10 {
		a := []agentUser{f.wang, f.li}[i%2]
		wg.Go(func() {
			r := srv.call(t, "POST", "/v1/tickets/"+id+":claim", map[string]any{}, a.s.headers()...)
			codes[i], bodies[i] = r.code, string(r.body)
		})
	}
	wg.Wait()
	won := 0
	winner := assigneeOf(t, srv, id)
	name := map[string]string{f.wang.id: "王芳", f.li.id: "Li Lei"}[winner]
	for i, c := range codes {
		switch {
		case c == http.StatusOK:
			won++
		case c == http.StatusConflict && strings.Contains(bodies[i], "claimed by "+name):
		default:
			t.Errorf("claim %d: %d %s, want 200 or 409 naming %s", i, c, bodies[i], name)
		}
	}
	if won < 1 || won > 5 { // the winner's retries of its own claim return it
		t.Errorf("%d claims succeeded: %v", won, codes)
	}
	if n := len(decisionsOf(t, srv, id)); n != 2 {
		t.Errorf("%d decisions, want the offer and one claim", n)
	}
	// A solved ticket cannot be claimed.
	ticket := srv.mustCall(t, http.StatusOK, "GET", "/v1/tickets/"+id, nil)
	srv.mustCall(t, http.StatusOK, "PATCH", "/v1/tickets/"+id, map[string]any{"status": "STATUS_SOLVED", "etag": ticket.str("etag")})
	if r := srv.call(t, "POST", "/v1/tickets/"+id+":claim", map[string]any{}, f.li.s.headers()...); r.code != http.StatusConflict || !strings.Contains(r.str("message"), "is solved") {
		t.Errorf("claim of a solved ticket: %d %s, want 409", r.code, r.body)
	}
	// Another tenant's ticket does not exist for this one.
	theirs := srv.create(t, map[string]any{"subject": "acme's"}, "X-Kubedesk-Tenant", "acme").str("id")
	if r := srv.call(t, "POST", "/v1/tickets/"+theirs+":claim", map[string]any{}, f.li.s.headers()...); r.code != http.StatusNotFound {
		t.Errorf("claim of another tenant's ticket: %d %s, want 404", r.code, r.body)
	}
}

func testTransfers(t *testing.T, srv *instance, f routingFixture) {
	id := srv.create(t, map[string]any{"subject": "refund please"}).str("id")
	from := assigneeOf(t, srv, id)
	// chen is not in billing; zhang is offline: refused with the reason.
	srv.mustCall(t, http.StatusOK, "PUT", "/v1/agents/"+f.zhang.id+"/presence", map[string]any{"presence": "PRESENCE_OFFLINE"})
	if r := srv.call(t, "POST", "/v1/tickets/"+id+":transfer", map[string]any{"agent": f.zhang.id, "note": "请跟进"}); r.code != http.StatusBadRequest || !strings.Contains(r.str("message"), "张伟 is offline") {
		t.Errorf("transfer to an offline agent: %d %s", r.code, r.body)
	}
	// To the network group: chen (online, skill 4) or li.
	r := srv.mustCall(t, http.StatusOK, "POST", "/v1/tickets/"+id+":transfer", map[string]any{"group": "network", "note": "这是网络问题"}, f.li.s.headers()...)
	if r.json["decision"].(map[string]any)["trigger"] != "TRIGGER_TRANSFER" {
		t.Errorf("transfer: %s", r.body)
	}
	waitRouted(t, "the transfer to apply", func() bool {
		got := srv.mustCall(t, http.StatusOK, "GET", "/v1/tickets/"+id, nil)
		return got.str("group") == "network" && got.str("assignee") != from
	})
	// The queue does not hand it back to the agent it was transferred
	// away from, sweep after sweep.
	time.Sleep(500 * time.Millisecond)
	if got := srv.mustCall(t, http.StatusOK, "GET", "/v1/tickets/"+id, nil); got.str("assignee") == from {
		t.Errorf("the transferred ticket went back to %s", from)
	}
	comments := srv.mustCall(t, http.StatusOK, "GET", "/v1/tickets/"+id+"/comments", nil)
	if !strings.Contains(string(comments.body), "这是网络问题") || !strings.Contains(string(comments.body), "VISIBILITY_INTERNAL") {
		t.Errorf("comments %s: want the transfer's internal note", comments.body)
	}
	// A transfer naming neither group nor agent is refused.
	if r := srv.call(t, "POST", "/v1/tickets/"+id+":transfer", map[string]any{"note": "x"}); r.code != http.StatusBadRequest || !strings.Contains(r.str("message"), "group, agent") {
		t.Errorf("empty transfer: %d %s", r.code, r.body)
	}
}

func testOfflineAgents(t *testing.T, srv *instance, f routingFixture) {
	srv.mustCall(t, http.StatusOK, "PUT", "/v1/agents/"+f.zhang.id+"/presence", map[string]any{"presence": "PRESENCE_ONLINE"})
	// Make zhang the only online billing member, give it a ticket, and
	// have it go offline without answering: after the grace (1 s) the
	// ticket goes back to the queue, and to li once li is online.
	for _, a := range []agentUser{f.wang, f.li} {
		srv.mustCall(t, http.StatusOK, "PUT", "/v1/agents/"+a.id+"/presence", map[string]any{"presence": "PRESENCE_AWAY"})
	}
	id := srv.create(t, map[string]any{"subject": "发票抬头错误"}).str("id")
	if who := assigneeOf(t, srv, id); who != f.zhang.id {
		t.Fatalf("assignee %q, want zhang, the only one online", who)
	}
	answered := srv.create(t, map[string]any{"subject": "发票丢了"}).str("id")
	assigneeOf(t, srv, answered)
	srv.mustCall(t, http.StatusOK, "POST", "/v1/tickets/"+answered+"/comments", map[string]any{"body": "已补开", "visibility": "VISIBILITY_PUBLIC"}, f.zhang.s.headers()...)
	time.Sleep(300 * time.Millisecond) // the comment's event reaches routing
	srv.mustCall(t, http.StatusOK, "PUT", "/v1/agents/me/presence", map[string]any{"presence": "PRESENCE_OFFLINE"}, f.zhang.s.headers()...)
	waitRouted(t, "the unanswered ticket to return", func() bool {
		return srv.mustCall(t, http.StatusOK, "GET", "/v1/tickets/"+id, nil).str("assignee") == ""
	})
	if who := srv.mustCall(t, http.StatusOK, "GET", "/v1/tickets/"+answered, nil).str("assignee"); who != f.zhang.id {
		t.Errorf("the answered ticket went to %q; want it kept by zhang", who)
	}
	srv.mustCall(t, http.StatusOK, "PUT", "/v1/agents/me/presence", map[string]any{"presence": "PRESENCE_ONLINE"}, f.li.s.headers()...)
	if who := assigneeOf(t, srv, id); who != f.li.id {
		t.Errorf("assignee %q, want li once online", who)
	}
	ds := decisionsOf(t, srv, id)
	if last := ds[len(ds)-1]; last["trigger"] != "TRIGGER_AGENT_AVAILABLE" {
		t.Errorf("last decision %v: want the assignment when li came online", last)
	}
	for _, a := range []agentUser{f.wang, f.zhang} {
		srv.mustCall(t, http.StatusOK, "PUT", "/v1/agents/"+a.id+"/presence", map[string]any{"presence": "PRESENCE_ONLINE"})
	}
}

func testOverflowAndHeartbeats(t *testing.T, srv *instance, f routingFixture) {
	// chen's presence is a heartbeat that is not renewed: away after 5 s.
	srv.mustCall(t, http.StatusOK, "PUT", "/v1/agents/me/presence", map[string]any{"presence": "PRESENCE_ONLINE", "ttl": "5s"}, f.chen.s.headers()...)
	// A night group nobody is online in overflows to billing after a second.
	srv.mustCall(t, http.StatusOK, "POST", "/v1/groups?groupId=night", map[string]any{"displayName": "Night shift",
		"members": []string{f.chen.id}, "overflow": map[string]any{"group": "billing", "after": "1s"}})
	id := srv.create(t, map[string]any{"subject": "开票信息有误"}).str("id")
	assigneeOf(t, srv, id)
	srv.mustCall(t, http.StatusOK, "PATCH", "/v1/agents/"+f.chen.id, map[string]any{"capacity": map[string]int{"api": 1}})
	r := srv.mustCall(t, http.StatusOK, "POST", "/v1/tickets/"+id+":transfer", map[string]any{"group": "night", "note": "夜班处理"})
	if d := r.json["decision"].(map[string]any); d["outcome"] != "OUTCOME_QUEUED" {
		t.Fatalf("transfer to the night group: %v, want queued (chen is at capacity)", d)
	}
	waitRouted(t, "the overflow to billing", func() bool {
		ds := decisionsOf(t, srv, id)
		last := ds[len(ds)-1]
		return last["trigger"] == "TRIGGER_OVERFLOW" && last["group"] == "billing" && last["outcome"] == "OUTCOME_ASSIGNED"
	})
	waitRouted(t, "chen's heartbeat to lapse", func() bool {
		return srv.mustCall(t, http.StatusOK, "GET", "/v1/agents/"+f.chen.id, nil).str("presence") == "PRESENCE_AWAY"
	})
}

func testRoutingBadInput(t *testing.T, srv *instance, f routingFixture) {
	tests := []struct {
		name, method, path string
		body               any
		headers            []string
		code               int
		want               string
	}{
		{"capacity zero", "PATCH", "/v1/agents/" + f.li.id, map[string]any{"capacity": map[string]int{"chat": 0}}, nil, 400, `agent.capacity["chat"]: 0 is not a capacity; accepted: 1 to 1000`},
		{"capacity negative", "PATCH", "/v1/agents/" + f.li.id, map[string]any{"capacity": map[string]int{"email": -2}}, nil, 400, `agent.capacity["email"]: -2 is not a capacity`},
		{"capacity unknown channel", "PATCH", "/v1/agents/" + f.li.id, map[string]any{"capacity": map[string]int{"fax": 2}}, nil, 400, `agent.capacity["fax"]: is not a channel`},
		{"presence of another agent", "PUT", "/v1/agents/" + f.wang.id + "/presence", map[string]any{"presence": "PRESENCE_OFFLINE"}, f.li.s.headers(), 403, "an agent sets only its own presence"},
		{"member who is no agent", "POST", "/v1/groups?groupId=ghosts", map[string]any{"displayName": "Ghosts", "members": []string{"nobody"}}, nil, 400, `group.members[0]: "nobody" is not an agent of this tenant`},
		{"group without a Latin name", "POST", "/v1/groups", map[string]any{"displayName": "售后"}, nil, 400, "group_id: is required"},
		{"duplicate group", "POST", "/v1/groups?groupId=billing", map[string]any{"displayName": "Billing"}, nil, 409, "exists already"},
		{"overflow to an unknown group", "PATCH", "/v1/groups/network", map[string]any{"overflow": map[string]any{"group": "nowhere", "after": "60s"}}, nil, 400, `group.overflow.group: "nowhere" is not a group of this tenant`},
		{"unknown agent", "GET", "/v1/agents/nobody", nil, nil, 404, `agent "nobody": not found`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := srv.call(t, tt.method, tt.path, tt.body, tt.headers...)
			if r.code != tt.code || !strings.Contains(r.str("message"), tt.want) {
				t.Errorf("%s %s = %d %s, want %d with %q", tt.method, tt.path, r.code, r.body, tt.code, tt.want)
			}
		})
	}
}

// TestRoutingRestart stops the routing process while tickets keep coming
// and starts it again: every ticket is routed, none twice, and round robin
// goes on where it stopped.
func TestRoutingRestart(t *testing.T) {
	for engine, args := range engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			coreGRPC, routingGRPC := freeAddr(t), freeAddr(t)
			core := startServe(t, append(args, "--target=gateway,ticket", "--grpc-addr="+coreGRPC, "--services=routing="+routingGRPC)...)
			file := writeConfig(t, `apiVersion: kubedesk.io/v1alpha1
kind: KubedeskConfig
spec:
  routing: {sweepInterval: 100ms}
---
apiVersion: kubedesk.io/v1alpha1
kind: RoutingRule
metadata: {name: everything}
spec:
  tenantRef: {name: default}
  then: {group: desk}
`)
			dataDir := t.TempDir()
			routingArgs := append(slices.Clone(args), "--target=routing", "--grpc-addr="+routingGRPC, "--data-dir="+dataDir,
				"--services=ticket="+core.grpc+",iam="+core.grpc, "--config="+file)
			first := startServe(t, routingArgs...)
			var agents []agentUser
			for i := range 3 {
				a := newAgent(t, core, fmt.Sprintf("agent%d@example.com", i), fmt.Sprintf("客服%d", i), "zh-CN")
				core.mustCall(t, http.StatusOK, "PATCH", "/v1/agents/"+a.id, map[string]any{"capacity": map[string]int{"api": 100}})
				core.mustCall(t, http.StatusOK, "PUT", "/v1/agents/me/presence", map[string]any{"presence": "PRESENCE_ONLINE"}, a.s.headers()...)
				agents = append(agents, a)
			}
			core.mustCall(t, http.StatusOK, "POST", "/v1/groups?groupId=desk", map[string]any{"displayName": "Desk",
				"members": []string{agents[0].id, agents[1].id, agents[2].id}})
			waitRouted(t, "the rule to be in force", func() bool {
				return len(asList(core.mustCall(t, http.StatusOK, "GET", "/v1/routingRules", nil).json["routingRules"])) == 1
			})
			var ids []string
			for i := range 60 {
				if i == 20 {
					if err := first.stop(); err != nil {
						t.Fatalf("stopping the routing process: %v", err)
					}
				}
				ids = append(ids, core.create(t, map[string]any{"subject": fmt.Sprintf("第%d个问题", i)}).str("id"))
			}
			startServe(t, routingArgs...)
			counts := map[string]int{}
			for _, id := range ids {
				counts[assigneeOf(t, core, id)]++
			}
			for _, id := range ids {
				ds := decisionsOf(t, core, id)
				if len(ds) != 1 || ds[0]["outcome"] != "OUTCOME_ASSIGNED" {
					t.Errorf("ticket %s: decisions %v, want one assignment", id, ds)
				}
			}
			lo, hi := 1<<30, 0
			for _, n := range counts {
				lo, hi = min(lo, n), max(hi, n)
			}
			if len(counts) != 3 || hi-lo > 1 {
				t.Errorf("round robin across the restart: %v, want each within one of the others", counts)
			}
			total := 0
			for _, a := range agents {
				load := core.mustCall(t, http.StatusOK, "GET", "/v1/agents/"+a.id, nil).json["load"].(map[string]any)
				n, _ := load["api"].(float64)
				total += int(n)
			}
			if total != len(ids) {
				t.Errorf("the agents hold %d tickets, want %d", total, len(ids))
			}
		})
	}
}
