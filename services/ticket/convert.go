package ticket

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	ticketv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/ticket/v1"
	"github.com/kubedesk/kubedesk/services/platform/etag"
)

// The wire enums and the domain's strings map one to one; these tables are
// the only place that knows both.
var (
	statusToProto = map[Status]ticketv1.Status{
		StatusNew: ticketv1.Status_STATUS_NEW, StatusOpen: ticketv1.Status_STATUS_OPEN,
		StatusPending: ticketv1.Status_STATUS_PENDING, StatusOnHold: ticketv1.Status_STATUS_ON_HOLD,
		StatusSolved: ticketv1.Status_STATUS_SOLVED, StatusClosed: ticketv1.Status_STATUS_CLOSED,
	}
	channelToProto = map[Channel]ticketv1.Channel{
		ChannelWeb: ticketv1.Channel_CHANNEL_WEB, ChannelEmail: ticketv1.Channel_CHANNEL_EMAIL,
		ChannelChat: ticketv1.Channel_CHANNEL_CHAT, ChannelWeChat: ticketv1.Channel_CHANNEL_WECHAT,
		ChannelAPI: ticketv1.Channel_CHANNEL_API, ChannelPhone: ticketv1.Channel_CHANNEL_PHONE,
	}
	authorToProto = map[AuthorType]ticketv1.AuthorType{
		AuthorAgent: ticketv1.AuthorType_AUTHOR_TYPE_AGENT, AuthorCustomer: ticketv1.AuthorType_AUTHOR_TYPE_CUSTOMER,
		AuthorSystem: ticketv1.AuthorType_AUTHOR_TYPE_SYSTEM,
	}
	visibilityToProto = map[Visibility]ticketv1.Visibility{
		VisibilityPublic: ticketv1.Visibility_VISIBILITY_PUBLIC, VisibilityInternal: ticketv1.Visibility_VISIBILITY_INTERNAL,
	}
	eventToProto = map[EventType]ticketv1.EventType{
		EventTicketCreated:   ticketv1.EventType_EVENT_TYPE_TICKET_CREATED,
		EventTicketUpdated:   ticketv1.EventType_EVENT_TYPE_TICKET_UPDATED,
		EventCommentAdded:    ticketv1.EventType_EVENT_TYPE_COMMENT_ADDED,
		EventSLAChanged:      ticketv1.EventType_EVENT_TYPE_SLA_CHANGED,
		EventRoutingAssigned: ticketv1.EventType_EVENT_TYPE_ROUTING_ASSIGNED,
	}
	slaStateToProto = map[SLAState]ticketv1.SLAState{
		SLAOK: ticketv1.SLAState_SLA_STATE_OK, SLAWarning: ticketv1.SLAState_SLA_STATE_WARNING,
		SLABreached: ticketv1.SLAState_SLA_STATE_BREACHED, SLAPaused: ticketv1.SLAState_SLA_STATE_PAUSED,
		SLAMet: ticketv1.SLAState_SLA_STATE_MET,
	}
	slaColourToProto = map[SLAColour]ticketv1.SLAColour{
		ColourGreen: ticketv1.SLAColour_SLA_COLOUR_GREEN, ColourYellow: ticketv1.SLAColour_SLA_COLOUR_YELLOW,
		ColourRed: ticketv1.SLAColour_SLA_COLOUR_RED, ColourGrey: ticketv1.SLAColour_SLA_COLOUR_GREY,
	}
	slaClockToProto = map[SLAClock]ticketv1.SLAClock{
		ClockFirstResponse: ticketv1.SLAClock_SLA_CLOCK_FIRST_RESPONSE,
		ClockNextResponse:  ticketv1.SLAClock_SLA_CLOCK_NEXT_RESPONSE,
		ClockResolution:    ticketv1.SLAClock_SLA_CLOCK_RESOLUTION,
	}
)

func invert[K, V comparable](m map[K]V) map[V]K {
	out := make(map[V]K, len(m))
	for k, v := range m {
		out[v] = k
	}
	return out
}

var (
	statusFromProto     = invert(statusToProto)
	channelFromProto    = invert(channelToProto)
	authorFromProto     = invert(authorToProto)
	visibilityFromProto = invert(visibilityToProto)
	slaStateFromProto   = invert(slaStateToProto)
	slaClockFromProto   = invert(slaClockToProto)
)

func timestamp(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

// ToProto renders a ticket for the API.
func ToProto(t Ticket) *ticketv1.Ticket {
	return &ticketv1.Ticket{
		Id:          t.ID,
		Tenant:      t.Tenant,
		Subject:     t.Subject,
		Description: t.Description,
		Status:      statusToProto[t.Status],
		Impact:      int32(t.Impact),
		Urgency:     int32(t.Urgency),
		Priority:    ticketv1.Priority(t.Priority),
		Channel:     channelToProto[t.Channel],
		Requester: &ticketv1.Requester{
			Name: t.Requester.Name, Email: t.Requester.Email, Identity: t.Requester.Identity,
			ContactId: t.Requester.ContactID,
		},
		Group:        t.Group,
		Assignee:     t.Assignee,
		Tags:         t.Tags,
		CustomFields: t.CustomFields,
		CreateTime:   timestamp(t.CreateTime),
		UpdateTime:   timestamp(t.UpdateTime),
		SolveTime:    timestamp(t.SolveTime),
		Version:      t.Version,
		Etag:         etag.Format(t.Version),
		Sla:          slaToProto(t.SLA),
		Number:       t.Number,
		Attachments:  attachmentsToProto(t.Attachments),
	}
}

// attachmentsToProto renders attachments; nil for none.
func attachmentsToProto(as []Attachment) []*ticketv1.Attachment {
	if len(as) == 0 {
		return nil
	}
	out := make([]*ticketv1.Attachment, len(as))
	for i, a := range as {
		out[i] = &ticketv1.Attachment{Id: a.ID, Filename: a.Filename, ContentType: a.ContentType,
			Size: a.Size, Sha256: a.SHA256, Inline: a.Inline, ContentId: a.ContentID}
	}
	return out
}

// slaToProto renders a ticket's SLA; nil stays unset.
func slaToProto(s *SLA) *ticketv1.TicketSLA {
	if s == nil {
		return nil
	}
	out := &ticketv1.TicketSLA{
		Policy:      s.Policy,
		State:       slaStateToProto[s.State],
		Colour:      slaColourToProto[s.Colour],
		NextDueTime: timestamp(s.NextDue),
		UpdateTime:  timestamp(s.UpdateTime),
		Clocks:      make([]*ticketv1.SLAClockStatus, len(s.Clocks)),
	}
	for i, c := range s.Clocks {
		out.Clocks[i] = &ticketv1.SLAClockStatus{
			Clock:      slaClockToProto[c.Clock],
			State:      slaStateToProto[c.State],
			Colour:     slaColourToProto[c.Colour],
			DueTime:    timestamp(c.Due),
			Remaining:  durationpb.New(c.Remaining),
			Target:     durationpb.New(c.Target),
			BreachTime: timestamp(c.BreachTime),
		}
	}
	return out
}

// slaFromProto reads the SLA of a SetTicketSLA request. It refuses what
// the domain cannot hold, naming the field (e.g. sla.clocks[1].clock); the
// summary fields and the colours are not read but derived (SLA.Derive).
func slaFromProto(in *ticketv1.TicketSLA) (SLA, error) {
	if in == nil {
		return SLA{}, status.Error(codes.InvalidArgument, "sla: is required; send the ticket's SLA clocks and update_time")
	}
	if len(in.GetPolicy()) > 300 {
		return SLA{}, status.Errorf(codes.InvalidArgument, "sla.policy: is %d bytes; accepted: at most 300", len(in.GetPolicy()))
	}
	updated, err := timeFromProto("sla.update_time", in.GetUpdateTime(), true)
	if err != nil {
		return SLA{}, err
	}
	out := SLA{Policy: in.GetPolicy(), UpdateTime: updated}
	seen := map[SLAClock]int{}
	for i, c := range in.GetClocks() {
		field := fmt.Sprintf("sla.clocks[%d]", i)
		kind, ok := slaClockFromProto[c.GetClock()]
		if !ok {
			return SLA{}, status.Errorf(codes.InvalidArgument, "%s.clock: %s is not a clock; accepted: %s", field, c.GetClock(), enumNames(slaClockToProto))
		}
		if j, dup := seen[kind]; dup {
			return SLA{}, status.Errorf(codes.InvalidArgument, "%s.clock: %s is also sla.clocks[%d]; accepted: at most one status per clock", field, c.GetClock(), j)
		}
		seen[kind] = i
		state, ok := slaStateFromProto[c.GetState()]
		if !ok {
			return SLA{}, status.Errorf(codes.InvalidArgument, "%s.state: %s is not an SLA state; accepted: %s", field, c.GetState(), enumNames(slaStateToProto))
		}
		cs := SLAClockStatus{Clock: kind, State: state}
		if cs.Due, err = timeFromProto(field+".due_time", c.GetDueTime(), false); err != nil {
			return SLA{}, err
		}
		if cs.BreachTime, err = timeFromProto(field+".breach_time", c.GetBreachTime(), false); err != nil {
			return SLA{}, err
		}
		if cs.Remaining, err = durationFromProto(field+".remaining", c.GetRemaining()); err != nil {
			return SLA{}, err
		}
		if cs.Target, err = durationFromProto(field+".target", c.GetTarget()); err != nil {
			return SLA{}, err
		}
		if state.Running() && cs.Due.IsZero() {
			return SLA{}, status.Errorf(codes.InvalidArgument, "%s.due_time: is required for a running clock (%s); accepted: a due time, or a state of SLA_STATE_PAUSED or SLA_STATE_MET", field, c.GetState())
		}
		out.Clocks = append(out.Clocks, cs)
	}
	return out.Derive(), nil
}

// timeFromProto reads a timestamp field; unset is the zero time unless
// required.
func timeFromProto(field string, ts *timestamppb.Timestamp, required bool) (time.Time, error) {
	if ts == nil {
		if required {
			return time.Time{}, status.Errorf(codes.InvalidArgument, "%s: is required", field)
		}
		return time.Time{}, nil
	}
	if err := ts.CheckValid(); err != nil {
		return time.Time{}, status.Errorf(codes.InvalidArgument, "%s: %v; accepted: a time from 0001-01-01 to 9999-12-31", field, err)
	}
	return ts.AsTime().UTC().Truncate(time.Microsecond), nil
}

func durationFromProto(field string, d *durationpb.Duration) (time.Duration, error) {
	if d == nil {
		return 0, nil
	}
	if err := d.CheckValid(); err != nil {
		return 0, status.Errorf(codes.InvalidArgument, "%s: %v; accepted: seconds and nanos of one sign, within ±10000 years", field, err)
	}
	return d.AsDuration(), nil
}

// enumNames lists the wire names of a table's enum values in number order.
func enumNames[K comparable, V interface {
	~int32
	String() string
}](m map[K]V) string {
	vs := slices.Sorted(maps.Values(m))
	names := make([]string, len(vs))
	for i, v := range vs {
		names[i] = v.String()
	}
	return strings.Join(names, ", ")
}

// CommentToProto renders a comment for the API.
func CommentToProto(c Comment) *ticketv1.Comment {
	return &ticketv1.Comment{
		Id:          c.ID,
		TicketId:    c.TicketID,
		Author:      c.Author,
		AuthorType:  authorToProto[c.AuthorType],
		Body:        c.Body,
		Visibility:  visibilityToProto[c.Visibility],
		CreateTime:  timestamp(c.CreateTime),
		Actor:       ActorToProto(c.Actor),
		Attachments: attachmentsToProto(c.Attachments),
	}
}

// EventToProto renders an outbox event for WatchEvents.
func EventToProto(e Event) *ticketv1.Event {
	out := &ticketv1.Event{
		Cursor:      e.Cursor,
		Type:        eventToProto[e.Type],
		TicketId:    e.TicketID,
		Ticket:      ToProto(e.Ticket),
		CreateTime:  timestamp(e.CreateTime),
		Traceparent: e.TraceParent,
		Actor:       ActorToProto(e.Actor),
		Routing:     RoutingToProto(e.Routing),
	}
	if e.Comment != nil {
		out.Comment = CommentToProto(*e.Comment)
	}
	for _, c := range e.Changes {
		out.Changes = append(out.Changes, ChangeToProto(c))
	}
	return out
}

// RoutingToProto renders a routing decision as events carry it; nil stays
// unset.
func RoutingToProto(r *Routing) *ticketv1.RoutingSummary {
	if r == nil {
		return nil
	}
	return &ticketv1.RoutingSummary{Id: r.ID, Trigger: r.Trigger, Outcome: r.Outcome, Group: r.Group,
		Agent: r.Agent, Rules: r.Rules, Explanation: r.Explanation}
}

func routingFromProto(in *ticketv1.RoutingSummary) Routing {
	return Routing{ID: in.GetId(), Trigger: in.GetTrigger(), Outcome: in.GetOutcome(), Group: in.GetGroup(),
		Agent: in.GetAgent(), Rules: slices.Clone(in.GetRules()), Explanation: in.GetExplanation()}
}

// assignmentFromProto reads what an AssignTicket request does; an unset
// optional field is nil (left alone, or not checked).
func assignmentFromProto(req *ticketv1.AssignTicketRequest) Assignment {
	return Assignment{
		Group:           req.Group,
		Assignee:        req.Assignee,
		ExpectAssignee:  req.ExpectAssignee,
		ExpectGroup:     req.ExpectGroup,
		AddTags:         req.GetAddTags(),
		PriorityAtLeast: Priority(req.GetPriorityAtLeast()),
		SetCustomFields: req.GetSetCustomFields(),
	}
}

// ChangeToProto renders a change with its values typed (FieldChange.before
// and after) and as display text (old_value and new_value). An Unparsed
// value has text only.
func ChangeToProto(c Change) *ticketv1.FieldChange {
	return &ticketv1.FieldChange{
		Field:    c.Field,
		OldValue: ChangeText(c.Old),
		NewValue: ChangeText(c.New),
		Before:   valueToProto(c.Old),
		After:    valueToProto(c.New),
	}
}

// valueToProto renders a change's value as a protobuf Value: strings and
// the enums' short names as strings, numbers as numbers, tags as a list,
// custom fields and the requester as objects. nil for an Unparsed value.
func valueToProto(v any) *structpb.Value {
	switch v := v.(type) {
	case string:
		return structpb.NewStringValue(v)
	case Status:
		return structpb.NewStringValue(string(v))
	case Channel:
		return structpb.NewStringValue(string(v))
	case SLAState:
		return structpb.NewStringValue(string(v))
	case int:
		return structpb.NewNumberValue(float64(v))
	case Priority:
		return structpb.NewNumberValue(float64(v))
	case Requester:
		fields := map[string]*structpb.Value{
			"name": structpb.NewStringValue(v.Name), "email": structpb.NewStringValue(v.Email), "identity": structpb.NewStringValue(v.Identity),
		}
		if v.ContactID != "" {
			fields["contact_id"] = structpb.NewStringValue(v.ContactID)
		}
		return structpb.NewStructValue(&structpb.Struct{Fields: fields})
	case []string:
		list := &structpb.ListValue{Values: make([]*structpb.Value, len(v))}
		for i, s := range v {
			list.Values[i] = structpb.NewStringValue(s)
		}
		return structpb.NewListValue(list)
	case map[string]string:
		fields := make(map[string]*structpb.Value, len(v))
		for k, s := range v {
			fields[k] = structpb.NewStringValue(s)
		}
		return structpb.NewStructValue(&structpb.Struct{Fields: fields})
	case nil, Unparsed:
		return nil
	}
	// A field this version does not know, read from a newer event row.
	pv, err := structpb.NewValue(v)
	if err != nil {
		return nil
	}
	return pv
}

func requesterFromProto(r *ticketv1.Requester) Requester {
	if r == nil {
		return Requester{}
	}
	return Requester{Name: strings.TrimSpace(r.GetName()), Email: r.GetEmail(), Identity: r.GetIdentity(), ContactID: r.GetContactId()}
}
