package ticket

import (
	"encoding/base64"
	"errors"
	"fmt"
	"hash/crc32"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestDefaultMatrix(t *testing.T) {
	tests := []struct {
		impact, urgency int
		want            Priority
	}{
		{1, 1, P1}, {1, 2, P2}, {1, 3, P3},
		{2, 1, P2}, {2, 2, P3}, {2, 3, P4},
		{3, 1, P3}, {3, 2, P4}, {3, 3, P5},
	}
	for _, tt := range tests {
		if got := DefaultMatrix.Priority(tt.impact, tt.urgency); got != tt.want {
			t.Errorf("Priority(impact %d, urgency %d) = %s, want %s", tt.impact, tt.urgency, got, tt.want)
		}
	}
}

func TestRaiseStep(t *testing.T) {
	for _, tt := range []struct {
		impact, urgency         int
		wantImpact, wantUrgency int
		field                   string
		ok                      bool
	}{
		{2, 2, 2, 1, "urgency", true},
		{3, 3, 3, 2, "urgency", true},
		{2, 1, 1, 1, "impact", true},
		{3, 1, 2, 1, "impact", true},
		{1, 1, 1, 1, "", false},
	} {
		i, u, field, ok := RaiseStep(tt.impact, tt.urgency)
		if i != tt.wantImpact || u != tt.wantUrgency || field != tt.field || ok != tt.ok {
			t.Errorf("RaiseStep(%d, %d) = %d, %d, %q, %v; want %d, %d, %q, %v",
				tt.impact, tt.urgency, i, u, field, ok, tt.wantImpact, tt.wantUrgency, tt.field, tt.ok)
		}
	}
}

func TestRaiseTo(t *testing.T) {
	// A matrix whose best is P2: no raise reaches P1.
	flat := Matrix{{P2, P2, P3}, {P2, P3, P4}, {P3, P4, P5}}
	for _, tt := range []struct {
		m                       Matrix
		impact, urgency         int
		floor                   Priority
		wantImpact, wantUrgency int
	}{
		{DefaultMatrix, 2, 2, P3, 2, 2},                                    // at the floor
		{DefaultMatrix, 1, 1, P5, 1, 1},                                    // above it: never lowered
		{DefaultMatrix, 2, 3, P3, 2, 2},                                    // urgency one step
		{DefaultMatrix, 2, 3, P2, 2, 1},                                    // urgency two steps rather than impact
		{DefaultMatrix, 3, 3, P2, 2, 1},                                    // urgency cannot: impact one step, urgency as needed
		{DefaultMatrix, 3, 3, P1, 1, 1},                                    // both all the way
		{DefaultMatrix, 1, 3, P1, 1, 1},                                    // urgency alone
		{DefaultMatrix, 3, 1, P2, 2, 1},                                    // impact alone
		{flat, 3, 3, P1, 2, 1},                                             // out of reach: the highest within it, least raised
		{flat, 2, 2, P1, 2, 1},                                             // likewise
		{flat, 1, 2, P1, 1, 2},                                             // at the highest already
		{DefaultMatrix, 3, 3, P4, 3, 2},                                    // one step of urgency
		{Matrix{{P1, P1, P1}, {P1, P1, P1}, {P5, P5, P5}}, 3, 3, P3, 2, 3}, // only impact helps
	} {
		i, u := tt.m.RaiseTo(tt.impact, tt.urgency, tt.floor)
		if i != tt.wantImpact || u != tt.wantUrgency {
			t.Errorf("%v.RaiseTo(%d, %d, %s) = %d, %d; want %d, %d", tt.m, tt.impact, tt.urgency, tt.floor, i, u, tt.wantImpact, tt.wantUrgency)
		}
	}
}

func TestRoute(t *testing.T) {
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	str := func(s string) *string { return &s }
	base := Ticket{ID: "t1", Status: StatusNew, Impact: 2, Urgency: 2, Priority: P3, Group: "it", Assignee: "",
		Tags: []string{"vip"}, CustomFields: map[string]string{"a": "1"}}
	for _, tt := range []struct {
		name    string
		status  Status
		a       Assignment
		want    []Change
		wantErr string
	}{
		{name: "nothing to do", a: Assignment{ExpectAssignee: str(""), ExpectGroup: str(" it ")}},
		{name: "same values change nothing", a: Assignment{Group: str("it"), Assignee: str(""), AddTags: []string{"vip"},
			SetCustomFields: map[string]string{"a": "1"}, PriorityAtLeast: P4}},
		{name: "everything", status: StatusPending, a: Assignment{Group: str(" billing "), Assignee: str("u-wang"), AddTags: []string{"zh", "vip", " "},
			SetCustomFields: map[string]string{"b": "2"}, PriorityAtLeast: P1}, want: []Change{
			{Field: "group", Old: "it", New: "billing"},
			{Field: "assignee", Old: "", New: "u-wang"},
			{Field: "tags", Old: []string{"vip"}, New: []string{"vip", "zh"}},
			{Field: "custom_fields", Old: map[string]string{"a": "1"}, New: map[string]string{"a": "1", "b": "2"}},
			{Field: "urgency", Old: 2, New: 1},
			{Field: "impact", Old: 2, New: 1},
			{Field: "priority", Old: P3, New: P1},
		}},
		{name: "unassign", a: Assignment{Assignee: str("")}},
		{name: "assignee moved", a: Assignment{ExpectAssignee: str("u-li")}, wantErr: `ticket t1: assignee is "" now, not "u-li"`},
		{name: "group moved", a: Assignment{ExpectAssignee: str(""), ExpectGroup: str("billing")}, wantErr: `ticket t1: group is "it" now, not "billing"`},
		{name: "solved", status: StatusSolved, a: Assignment{ExpectGroup: str("billing")},
			wantErr: `ticket t1: status is "solved"; routing applies to new, open, pending and on_hold tickets only`},
		{name: "closed", status: StatusClosed, wantErr: `ticket t1: status is "closed"; routing applies to new, open, pending and on_hold tickets only`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tk := base
			tk.Tags, tk.CustomFields = slices.Clone(base.Tags), map[string]string{"a": "1"}
			if tt.status != "" {
				tk.Status = tt.status
			}
			got, err := tk.Route(tt.a, DefaultMatrix, now)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("Route = %v, want %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("changes (-want +got):\n%s", diff)
			}
		})
	}
	// The caller's maps and slices are not edited.
	tk := base
	in := map[string]string{"b": "2"}
	if _, err := tk.Route(Assignment{SetCustomFields: in, AddTags: []string{"x"}}, DefaultMatrix, now); err != nil {
		t.Fatal(err)
	}
	if len(base.CustomFields) != 1 || len(base.Tags) != 1 || len(in) != 1 {
		t.Errorf("Route edited what it was given: ticket fields %v tags %v, assignment fields %v", base.CustomFields, base.Tags, in)
	}
}

func TestParseMatrix(t *testing.T) {
	tests := []struct {
		name    string
		rows    []string
		want    Matrix
		wantErr string
	}{
		{name: "default", rows: []string{"P1 P2 P3", "P2 P3 P4", "P3 P4 P5"}, want: DefaultMatrix},
		{name: "stricter", rows: []string{"P1 P1 P2", "P2 P2 P3", "p3 p4 p5"}, want: Matrix{{P1, P1, P2}, {P2, P2, P3}, {P3, P4, P5}}},
		{name: "two rows", rows: []string{"P1 P2 P3", "P2 P3 P4"}, wantErr: "priorityMatrix: has 2 rows"},
		{name: "short row", rows: []string{"P1 P2", "P2 P3 P4", "P3 P4 P5"}, wantErr: "priorityMatrix[0]: \"P1 P2\" has 2 cells"},
		{name: "bad cell", rows: []string{"P1 P2 P3", "P2 P9 P4", "P3 P4 P5"}, wantErr: "priorityMatrix[1][1]: \"P9\" is not a priority; accepted: P1, P2, P3, P4, P5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseMatrix(tt.rows)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCheckTransition(t *testing.T) {
	allowed := map[[2]Status]bool{}
	for from, tos := range transitions {
		for _, to := range tos {
			allowed[[2]Status{from, to}] = true
		}
	}
	// Spot checks that pin the lifecycle's shape, then every pair against
	// the table so no status is forgotten.
	spot := []struct {
		from, to Status
		ok       bool
	}{
		{StatusNew, StatusOpen, true},
		{StatusOpen, StatusSolved, true},
		{StatusSolved, StatusOpen, true},
		{StatusSolved, StatusClosed, true},
		{StatusClosed, StatusOpen, false},
		{StatusOpen, StatusNew, false},
		{StatusOpen, StatusClosed, false},
		{StatusPending, StatusPending, true},
	}
	for _, tt := range spot {
		if err := CheckTransition(tt.from, tt.to); (err == nil) != tt.ok {
			t.Errorf("CheckTransition(%s, %s) = %v, want ok=%v", tt.from, tt.to, err, tt.ok)
		}
	}
	for _, from := range Statuses {
		for _, to := range Statuses {
			err := CheckTransition(from, to)
			if want := from == to || allowed[[2]Status{from, to}]; (err == nil) != want {
				t.Errorf("CheckTransition(%s, %s) = %v, want ok=%v", from, to, err, want)
			}
			var te *TransitionError
			if err != nil && (!errors.As(err, &te) || !strings.Contains(err.Error(), string(from)) || !strings.Contains(err.Error(), string(to))) {
				t.Errorf("error %q does not name both states", err)
			}
		}
	}
	if err := CheckTransition(StatusClosed, StatusOpen); !strings.Contains(err.Error(), `"closed" is final`) {
		t.Errorf("closed -> open: %v, want it to say closed is final", err)
	}
}

func TestParseFilter(t *testing.T) {
	tests := []struct {
		in      string
		want    Filter
		wantErr string
	}{
		{in: "", want: Filter{}},
		{in: "status = open", want: Filter{Statuses: []Status{StatusOpen}}},
		{in: "status=STATUS_ON_HOLD AND priority=P1", want: Filter{Statuses: []Status{StatusOnHold}, Priorities: []Priority{P1}}},
		{in: "status = (open OR pending) AND tag:vip", want: Filter{Statuses: []Status{StatusOpen, StatusPending}, Tags: []string{"vip"}}},
		{in: `assignee = "李娜" AND group = 一线支持`, want: Filter{Assignees: []string{"李娜"}, Groups: []string{"一线支持"}}},
		{in: "requester = wechat:oAbC123", want: Filter{Requesters: []string{"wechat:oAbC123"}}},
		{in: "requester:zhang.wei@example.com AND channel = email", want: Filter{Requesters: []string{"zhang.wei@example.com"}, Channels: []Channel{ChannelEmail}}},
		{in: `tag = "needs \"review\""`, want: Filter{Tags: []string{`needs "review"`}}},
		{in: "sla = breached", want: Filter{SLAStates: []SLAState{SLABreached}}},
		{in: "sla = (warning OR SLA_STATE_BREACHED) AND status = open", want: Filter{SLAStates: []SLAState{SLAWarning, SLABreached}, Statuses: []Status{StatusOpen}}},
		{in: "sla:none", want: Filter{SLAStates: []SLAState{SLANone}}},
		{in: "sla = (ok OR paused OR met OR none)", want: Filter{SLAStates: []SLAState{SLAOK, SLAPaused, SLAMet, SLANone}}},
		{in: "sla = late", wantErr: `filter: sla: "late" is not an SLA state; accepted: ok, warning, breached, paused, met, none`},
		{in: "sla = SLA_STATE_UNSPECIFIED", wantErr: `"SLA_STATE_UNSPECIFIED" is not an SLA state`},
		{in: "colour = red", wantErr: `unknown field "colour"; accepted: status, priority, channel, assignee, group, requester, contact, number, tag, sla`},
		{in: "number = 1042", want: Filter{Numbers: []int64{1042}}},
		{in: "number = #1042", want: Filter{Numbers: []int64{1042}}},
		{in: "number = (#1 OR 2) AND contact = c-42", want: Filter{Numbers: []int64{1, 2}, Contacts: []string{"c-42"}}},
		{in: `contact = "01J0-abc"`, want: Filter{Contacts: []string{"01J0-abc"}}},
		{in: "number = 0", wantErr: `filter: number: "0" is not a ticket number; accepted: a positive integer such as 1042 or #1042`},
		{in: "number = ##5", wantErr: `filter: number: "##5" is not a ticket number; accepted: a positive integer such as 1042 or #1042`},
		{in: "number = +5", wantErr: `filter: number: "+5" is not a ticket number`},
		{in: "number = 99999999999999999999", wantErr: `"99999999999999999999" is not a ticket number`},
		{in: "number = abc", wantErr: `"abc" is not a ticket number`},
		{in: "status = lost", wantErr: `filter: status: "lost" is not a status`},
		{in: "priority = P7", wantErr: `"P7" is not a priority`},
		{in: "status = open OR status = new", wantErr: "expected AND between comparisons"},
		{in: "status open", wantErr: `expected = after "status"`},
		{in: `tag = "open`, wantErr: "quoted value is not closed"},
		{in: "status = (open pending)", wantErr: "expected OR or )"},
		{in: "status =", wantErr: "expected a value"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseFilter(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("filter (-want +got):\n%s", diff)
			}
			if got.IsZero() != (tt.in == "") {
				t.Errorf("IsZero() = %v for %q", got.IsZero(), tt.in)
			}
		})
	}
}

func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{"status = open AND tag:vip", `assignee = "李娜"`, "status = (open OR pending)", "requester = wechat:x",
		"sla = (breached OR none) AND status = open", "sla:SLA_STATE_WARNING"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		// Must never panic; a parsed filter must only hold valid values.
		flt, err := ParseFilter(s)
		if err != nil {
			return
		}
		for _, st := range flt.Statuses {
			if _, err := ParseStatus(string(st)); err != nil {
				t.Fatalf("parsed invalid status %q from %q", st, s)
			}
		}
		for _, st := range flt.SLAStates {
			if st != SLANone && !slices.Contains(SLAStates, st) {
				t.Fatalf("parsed invalid SLA state %q from %q", st, s)
			}
		}
	})
}

func TestPageToken(t *testing.T) {
	due := time.Date(2026, 3, 2, 10, 0, 0, 123456000, time.UTC)
	for _, pos := range []ListPosition{
		{ID: "0193a0c4-1111-7000-8000-000000000001"},
		{ID: "0193a0c4-1111-7000-8000-000000000002", Due: due},
	} {
		tok := encodePageToken(pos, "status = open")
		got, err := decodePageToken(tok, "status = open")
		if err != nil {
			t.Fatalf("round trip of %+v: %v", pos, err)
		}
		if diff := cmp.Diff(pos, got); diff != "" {
			t.Errorf("round trip (-want +got):\n%s", diff)
		}
	}
	tok := encodePageToken(ListPosition{ID: "0193a0c4-1111-7000-8000-000000000001"}, "status = open")
	v1 := base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "1|0193a0c4-1111-7000-8000-000000000001|%08x", crc32.ChecksumIEEE([]byte("q"))))
	badDue := base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "2|x|soon|%08x", crc32.ChecksumIEEE([]byte("q"))))
	for _, tt := range []struct{ name, token, query, want string }{
		{"other query", tok, "status = new", "belongs to a different query"},
		{"garbage", "!!!", "", "is not a token this service issued"},
		{"empty id", encodePageToken(ListPosition{}, "q"), "q", "is not a token this service issued"},
		{"format 1", v1, "q", "is not a token this service issued"},
		{"bad due time", badDue, "q", "is not a token this service issued"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := decodePageToken(tt.token, tt.query); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestUpdate(t *testing.T) {
	now := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	base := func() Ticket {
		return Ticket{ID: "t1", Subject: "printer", Status: StatusOpen, Impact: 2, Urgency: 2, Priority: P3,
			Channel: ChannelWeb, Group: "support", Tags: []string{"vip"}, CustomFields: map[string]string{"customer_tier": "gold"}}
	}
	for _, tt := range []struct {
		name    string
		from    func(*Ticket)
		to      Ticket
		fields  []string
		want    []Change
		wantErr string
		check   func(t *testing.T, got Ticket)
	}{
		{name: "typed changes and the priority they move", fields: []string{"urgency", "group", "tags", "custom_fields", "channel"},
			to: Ticket{Urgency: 1, Group: " escalation ", Tags: []string{" vip ", "a,b", "vip"}, CustomFields: map[string]string{"customer_tier": "silver"}, Channel: ChannelEmail},
			want: []Change{
				{Field: "urgency", Old: 2, New: 1},
				{Field: "group", Old: "support", New: "escalation"},
				{Field: "tags", Old: []string{"vip"}, New: []string{"vip", "a,b"}},
				{Field: "custom_fields", Old: map[string]string{"customer_tier": "gold"}, New: map[string]string{"customer_tier": "silver"}},
				{Field: "channel", Old: ChannelWeb, New: ChannelEmail},
				{Field: "priority", Old: P3, New: P2},
			}},
		{name: "same values change nothing", fields: []string{"group", "tags"}, to: Ticket{Group: "support", Tags: []string{"vip"}}},
		{name: "solving sets the solve time", fields: []string{"status"}, to: Ticket{Status: StatusSolved},
			want: []Change{{Field: "status", Old: StatusOpen, New: StatusSolved}},
			check: func(t *testing.T, got Ticket) {
				if !got.SolveTime.Equal(now) {
					t.Errorf("solve time = %v, want %v", got.SolveTime, now)
				}
			}},
		{name: "reopening clears it", from: func(tk *Ticket) { tk.Status, tk.SolveTime = StatusSolved, now.Add(-time.Hour) },
			fields: []string{"status"}, to: Ticket{Status: StatusOpen},
			want: []Change{{Field: "status", Old: StatusSolved, New: StatusOpen}},
			check: func(t *testing.T, got Ticket) {
				if !got.SolveTime.IsZero() {
					t.Errorf("solve time = %v, want none", got.SolveTime)
				}
			}},
		{name: "a move the lifecycle forbids", fields: []string{"status"}, to: Ticket{Status: StatusNew},
			wantErr: `status: cannot move a ticket from "open" to "new"`},
		{name: "empty subject", fields: []string{"subject"}, to: Ticket{Subject: "  "}, wantErr: "subject: must not be empty"},
		{name: "closed is final", from: func(tk *Ticket) { tk.Status = StatusClosed }, fields: []string{"group"}, to: Ticket{Group: "x"},
			wantErr: `status: ticket "t1" is closed and cannot change; open a follow-up ticket instead`},
		{name: "closed cannot reopen", from: func(tk *Ticket) { tk.Status = StatusClosed }, fields: []string{"status"}, to: Ticket{Status: StatusOpen},
			wantErr: `"closed" is final; open a follow-up ticket instead`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tk := base()
			if tt.from != nil {
				tt.from(&tk)
			}
			got, err := tk.Update(tt.to, tt.fields, DefaultMatrix, now)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("changes (-want +got):\n%s", diff)
			}
			if tt.check != nil {
				tt.check(t, tk)
			}
		})
	}
}

func TestReceiveComment(t *testing.T) {
	now := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	agentReply := Comment{AuthorType: AuthorAgent, Visibility: VisibilityPublic}
	note := Comment{AuthorType: AuthorAgent, Visibility: VisibilityInternal}
	customer := Comment{AuthorType: AuthorCustomer, Visibility: VisibilityPublic}
	for _, tt := range []struct {
		name    string
		status  Status
		c       Comment
		want    []Change
		wantErr bool
	}{
		{"agent reply opens a new ticket", StatusNew, agentReply, []Change{{Field: "status", Old: StatusNew, New: StatusOpen}}, false},
		{"a note does not", StatusNew, note, nil, false},
		{"customer reply to pending reopens", StatusPending, customer, []Change{{Field: "status", Old: StatusPending, New: StatusOpen}}, false},
		{"customer reply to solved reopens", StatusSolved, customer, []Change{{Field: "status", Old: StatusSolved, New: StatusOpen}}, false},
		{"customer reply to on-hold stays", StatusOnHold, customer, nil, false},
		{"closed takes no comment", StatusClosed, customer, nil, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tk := Ticket{ID: "t1", Status: tt.status}
			got, err := tk.ReceiveComment(tt.c, now)
			var closed *ClosedError
			if tt.wantErr != errors.As(err, &closed) {
				t.Fatalf("error = %v, want a *ClosedError: %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("changes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEscalate(t *testing.T) {
	now := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name string
		tk   Ticket
		e    Escalation
		want []Change
	}{
		{"group and one step of urgency", Ticket{Status: StatusOpen, Impact: 2, Urgency: 2, Priority: P3, Group: "support"},
			Escalation{Group: "escalation", RaisePriorityFrom: P3},
			[]Change{{Field: "group", Old: "support", New: "escalation"}, {Field: "urgency", Old: 2, New: 1}, {Field: "priority", Old: P3, New: P2}}},
		{"impact once urgency is highest", Ticket{Status: StatusOpen, Impact: 2, Urgency: 1, Priority: P2},
			Escalation{RaisePriorityFrom: P2},
			[]Change{{Field: "impact", Old: 2, New: 1}, {Field: "priority", Old: P2, New: P1}}},
		{"raised already: a retried breach raises once", Ticket{Status: StatusOpen, Impact: 2, Urgency: 1, Priority: P2},
			Escalation{RaisePriorityFrom: P3}, nil},
		{"highest already", Ticket{Status: StatusOpen, Impact: 1, Urgency: 1, Priority: P1}, Escalation{RaisePriorityFrom: P1}, nil},
		{"closed is left alone", Ticket{Status: StatusClosed, Impact: 2, Urgency: 2, Priority: P3, Group: "support"},
			Escalation{Group: "escalation", RaisePriorityFrom: P3}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.tk.Escalate(tt.e, DefaultMatrix, now)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("changes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestChangeToProto(t *testing.T) {
	for _, tt := range []struct {
		name             string
		c                Change
		before, after    string // protojson of the typed values; "" unset
		oldText, newText string
	}{
		{"priority", Change{Field: "priority", Old: P3, New: P2}, "3", "2", "P3", "P2"},
		{"status", Change{Field: "status", Old: StatusOpen, New: StatusOnHold}, `"open"`, `"on_hold"`, "open", "on_hold"},
		{"tags", Change{Field: "tags", Old: []string{}, New: []string{"a,b", "c"}}, "[]", `["a,b","c"]`, "", "a,b,c"},
		{"custom fields", Change{Field: "custom_fields", Old: map[string]string{}, New: map[string]string{"k": "v=1"}}, "{}", `{"k":"v=1"}`, "", "k=v=1"},
		{"an SLA clock appears", Change{Field: "sla.first_response", Old: SLANone, New: SLAOK}, `""`, `"ok"`, "", "ok"},
		{"unparsed legacy text", Change{Field: "tags", Old: Unparsed("a,b"), New: []string{"a"}}, "", `["a"]`, "a,b", "a"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fc := ChangeToProto(tt.c)
			render := func(v interface{ MarshalJSON() ([]byte, error) }, set bool) string {
				if !set {
					return ""
				}
				b, err := v.MarshalJSON()
				if err != nil {
					t.Fatal(err)
				}
				return strings.ReplaceAll(string(b), " ", "")
			}
			if got := render(fc.GetBefore(), fc.GetBefore() != nil); got != tt.before {
				t.Errorf("before = %s, want %s", got, tt.before)
			}
			if got := render(fc.GetAfter(), fc.GetAfter() != nil); got != tt.after {
				t.Errorf("after = %s, want %s", got, tt.after)
			}
			if fc.GetOldValue() != tt.oldText || fc.GetNewValue() != tt.newText {
				t.Errorf("text = %q -> %q, want %q -> %q", fc.GetOldValue(), fc.GetNewValue(), tt.oldText, tt.newText)
			}
		})
	}
}
