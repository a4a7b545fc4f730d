package ticket

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	ticketv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/ticket/v1"
)

var slaBase = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func TestSLADerive(t *testing.T) {
	at := func(h int) time.Time { return slaBase.Add(time.Duration(h) * time.Hour) }
	tests := []struct {
		name        string
		clocks      []SLAClockStatus
		wantState   SLAState
		wantNextDue time.Time
	}{
		{"no clocks", nil, SLANone, time.Time{}},
		{"one ok", []SLAClockStatus{{Clock: ClockResolution, State: SLAOK, Due: at(8)}}, SLAOK, at(8)},
		{"breached beats warning", []SLAClockStatus{
			{Clock: ClockFirstResponse, State: SLABreached, Due: at(1)},
			{Clock: ClockResolution, State: SLAWarning, Due: at(4)},
		}, SLABreached, at(4)},
		{"warning beats ok, earliest running due", []SLAClockStatus{
			{Clock: ClockResolution, State: SLAOK, Due: at(3)},
			{Clock: ClockNextResponse, State: SLAWarning, Due: at(5)},
		}, SLAWarning, at(3)},
		{"ok beats paused", []SLAClockStatus{
			{Clock: ClockFirstResponse, State: SLAPaused},
			{Clock: ClockResolution, State: SLAOK, Due: at(9)},
		}, SLAOK, at(9)},
		{"paused beats met, nothing runs", []SLAClockStatus{
			{Clock: ClockFirstResponse, State: SLAMet, Due: at(1)},
			{Clock: ClockResolution, State: SLAPaused, Due: at(2)},
		}, SLAPaused, time.Time{}},
		{"all met", []SLAClockStatus{{Clock: ClockFirstResponse, State: SLAMet}}, SLAMet, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Whatever the caller put in the derived fields is replaced.
			in := SLA{Policy: "p", Clocks: tt.clocks, State: SLAMet, Colour: ColourRed, NextDue: at(-100)}
			for i := range in.Clocks {
				in.Clocks[i].Colour = "purple"
			}
			got := in.Derive()
			if got.State != tt.wantState || got.Colour != tt.wantState.Colour() || !got.NextDue.Equal(tt.wantNextDue) {
				t.Errorf("Derive = state %q colour %q next due %v; want %q %q %v",
					got.State, got.Colour, got.NextDue, tt.wantState, tt.wantState.Colour(), tt.wantNextDue)
			}
			for i, c := range got.Clocks {
				if c.Colour != c.State.Colour() {
					t.Errorf("clock %s colour %q, want %q", c.Clock, c.Colour, c.State.Colour())
				}
				if i > 0 && clockRank(got.Clocks[i-1].Clock) > clockRank(c.Clock) {
					t.Errorf("clocks not in SLAClocks order: %v", got.Clocks)
				}
			}
			if len(in.Clocks) > 0 && in.Clocks[0].Colour != "purple" {
				t.Error("Derive edited the caller's clocks")
			}
		})
	}
	for state, colour := range map[SLAState]SLAColour{SLAOK: ColourGreen, SLAWarning: ColourYellow, SLABreached: ColourRed, SLAPaused: ColourGrey, SLAMet: ColourGrey, SLANone: ""} {
		if got := state.Colour(); got != colour {
			t.Errorf("%q.Colour() = %q, want %q", state, got, colour)
		}
	}
}

func TestSLAChanges(t *testing.T) {
	sla := func(clocks ...SLAClockStatus) *SLA { s := SLA{Clocks: clocks}.Derive(); return &s }
	clock := func(c SLAClock, st SLAState, dueH int) SLAClockStatus {
		return SLAClockStatus{Clock: c, State: st, Due: slaBase.Add(time.Duration(dueH) * time.Hour)}
	}
	tests := []struct {
		name      string
		old, next *SLA
		want      []Change
	}{
		{"none to none", nil, nil, nil},
		{"none to no clocks", nil, sla(), nil},
		{"only due times move", sla(clock(ClockResolution, SLAOK, 4)), sla(clock(ClockResolution, SLAOK, 5)), nil},
		{"clocks appear", nil, sla(clock(ClockResolution, SLAOK, 4), clock(ClockFirstResponse, SLAOK, 1)), []Change{
			{Field: "sla.first_response", Old: SLAState(""), New: SLAState("ok")},
			{Field: "sla.resolution", Old: SLAState(""), New: SLAState("ok")},
		}},
		{"one breaches, one keeps", sla(clock(ClockFirstResponse, SLAWarning, 1), clock(ClockResolution, SLAOK, 4)),
			sla(clock(ClockFirstResponse, SLABreached, 1), clock(ClockResolution, SLAOK, 3)), []Change{
				{Field: "sla.first_response", Old: SLAState("warning"), New: SLAState("breached")},
			}},
		{"clock replaced", sla(clock(ClockFirstResponse, SLAMet, 1)), sla(clock(ClockNextResponse, SLAOK, 2)), []Change{
			{Field: "sla.first_response", Old: SLAState("met"), New: SLAState("")},
			{Field: "sla.next_response", Old: SLAState(""), New: SLAState("ok")},
		}},
		{"SLA removed", sla(clock(ClockResolution, SLAPaused, 0)), nil, []Change{
			{Field: "sla.resolution", Old: SLAState("paused"), New: SLAState("")},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, changed := SLAChanges(tt.old, tt.next)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("changes (-want +got):\n%s", diff)
			}
			if changed != (len(tt.want) > 0) {
				t.Errorf("changed = %v, want %v", changed, len(tt.want) > 0)
			}
		})
	}
}

func TestSLAFromProto(t *testing.T) {
	ts := timestamppb.New
	valid := func() *ticketv1.TicketSLA {
		return &ticketv1.TicketSLA{
			Policy: "acme/standard",
			Clocks: []*ticketv1.SLAClockStatus{
				{Clock: ticketv1.SLAClock_SLA_CLOCK_RESOLUTION, State: ticketv1.SLAState_SLA_STATE_OK,
					Colour: ticketv1.SLAColour_SLA_COLOUR_RED, DueTime: ts(slaBase.Add(8 * time.Hour)),
					Remaining: durationpb.New(7 * time.Hour), Target: durationpb.New(8 * time.Hour)},
				{Clock: ticketv1.SLAClock_SLA_CLOCK_FIRST_RESPONSE, State: ticketv1.SLAState_SLA_STATE_BREACHED,
					DueTime: ts(slaBase.Add(time.Hour)), BreachTime: ts(slaBase.Add(time.Hour)),
					Remaining: durationpb.New(-time.Minute), Target: durationpb.New(time.Hour)},
			},
			State:       ticketv1.SLAState_SLA_STATE_MET, // output only: ignored
			NextDueTime: ts(slaBase),                     // output only: ignored
			UpdateTime:  ts(slaBase.Add(2 * time.Hour)),
		}
	}

	got, err := slaFromProto(valid())
	if err != nil {
		t.Fatal(err)
	}
	want := SLA{
		Policy: "acme/standard",
		Clocks: []SLAClockStatus{
			{Clock: ClockFirstResponse, State: SLABreached, Colour: ColourRed, Due: slaBase.Add(time.Hour),
				Remaining: -time.Minute, Target: time.Hour, BreachTime: slaBase.Add(time.Hour)},
			{Clock: ClockResolution, State: SLAOK, Colour: ColourGreen, Due: slaBase.Add(8 * time.Hour),
				Remaining: 7 * time.Hour, Target: 8 * time.Hour},
		},
		State: SLABreached, Colour: ColourRed, NextDue: slaBase.Add(8 * time.Hour),
		UpdateTime: slaBase.Add(2 * time.Hour),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("slaFromProto (-want +got):\n%s", diff)
	}
	// And back: the summary is the derived one.
	wantProto := valid()
	wantProto.Clocks[0], wantProto.Clocks[1] = wantProto.Clocks[1], wantProto.Clocks[0]
	wantProto.Clocks[0].Colour = ticketv1.SLAColour_SLA_COLOUR_RED
	wantProto.Clocks[1].Colour = ticketv1.SLAColour_SLA_COLOUR_GREEN
	wantProto.Clocks[0].BreachTime = ts(slaBase.Add(time.Hour))
	wantProto.State, wantProto.Colour = ticketv1.SLAState_SLA_STATE_BREACHED, ticketv1.SLAColour_SLA_COLOUR_RED
	wantProto.NextDueTime = ts(slaBase.Add(8 * time.Hour))
	if diff := cmp.Diff(wantProto, slaToProto(&got), protocmp.Transform()); diff != "" {
		t.Errorf("slaToProto (-want +got):\n%s", diff)
	}
	if ToProto(Ticket{}).GetSla() != nil {
		t.Error("a ticket without SLA renders one")
	}

	tests := []struct {
		name string
		edit func(*ticketv1.TicketSLA)
		want string
	}{
		{"missing update time", func(s *ticketv1.TicketSLA) { s.UpdateTime = nil }, "sla.update_time: is required"},
		{"unspecified clock", func(s *ticketv1.TicketSLA) { s.Clocks[1].Clock = 0 },
			"sla.clocks[1].clock: SLA_CLOCK_UNSPECIFIED is not a clock; accepted: SLA_CLOCK_FIRST_RESPONSE, SLA_CLOCK_NEXT_RESPONSE, SLA_CLOCK_RESOLUTION"},
		{"unknown clock", func(s *ticketv1.TicketSLA) { s.Clocks[0].Clock = 9 }, "sla.clocks[0].clock: 9 is not a clock"},
		{"duplicate clock", func(s *ticketv1.TicketSLA) { s.Clocks[1].Clock = ticketv1.SLAClock_SLA_CLOCK_RESOLUTION },
			"sla.clocks[1].clock: SLA_CLOCK_RESOLUTION is also sla.clocks[0]"},
		{"unspecified state", func(s *ticketv1.TicketSLA) { s.Clocks[1].State = 0 },
			"sla.clocks[1].state: SLA_STATE_UNSPECIFIED is not an SLA state; accepted: SLA_STATE_OK, SLA_STATE_WARNING, SLA_STATE_BREACHED, SLA_STATE_PAUSED, SLA_STATE_MET"},
		{"running without due time", func(s *ticketv1.TicketSLA) { s.Clocks[0].DueTime = nil }, "sla.clocks[0].due_time: is required for a running clock"},
		{"invalid due time", func(s *ticketv1.TicketSLA) { s.Clocks[0].DueTime = &timestamppb.Timestamp{Nanos: -1} }, "sla.clocks[0].due_time:"},
		{"invalid remaining", func(s *ticketv1.TicketSLA) { s.Clocks[1].Remaining = &durationpb.Duration{Seconds: 1, Nanos: -1} }, "sla.clocks[1].remaining:"},
		{"long policy", func(s *ticketv1.TicketSLA) { s.Policy = strings.Repeat("p", 301) }, "sla.policy: is 301 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := valid()
			tt.edit(in)
			_, err := slaFromProto(in)
			if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want INVALID_ARGUMENT containing %q", err, tt.want)
			}
		})
	}
	if _, err := slaFromProto(nil); status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "sla: is required") {
		t.Errorf("nil SLA: error = %v", err)
	}
}

func TestEventToProtoSLAChanged(t *testing.T) {
	e := Event{Type: EventSLAChanged, TicketID: "t1", Changes: []Change{{Field: "sla.resolution", Old: SLAState("ok"), New: SLAState("warning")}}}
	got := EventToProto(e)
	if got.GetType() != ticketv1.EventType_EVENT_TYPE_SLA_CHANGED || got.GetChanges()[0].GetField() != "sla.resolution" {
		t.Errorf("EventToProto = %v, want EVENT_TYPE_SLA_CHANGED with the clock's change", got)
	}
}
