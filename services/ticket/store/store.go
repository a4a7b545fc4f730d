// Package store keeps tickets in SQLite (embedded, the default) or
// PostgreSQL (production). Both implement ticket.Store and are held to it
// by one contract suite (store_test.go).
//
// Each write and its outbox event commit in one transaction. The event
// stream's cursor is engine specific: on SQLite the event's AUTOINCREMENT
// id ("s1:<id>"), on PostgreSQL its transaction id and sequence id
// ("p1:<xid>:<id>"); see the migrations for why.
package store

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/propagation"

	"github.com/kubedesk/kubedesk/services/platform/storage"
	"github.com/kubedesk/kubedesk/services/ticket"
)

//go:embed migrations
var migrations embed.FS

// migrationScope records the ticket service's migrations apart from other
// services sharing a database.
const migrationScope = "ticket"

// Open opens the store a service is configured for: PostgreSQL when
// databaseURL is a postgres:// or postgresql:// URL, else (databaseURL
// empty) the SQLite file ticket.db in dataDir, which it creates if needed.
func Open(ctx context.Context, databaseURL, dataDir string) (ticket.Store, error) {
	return storage.Open(ctx, databaseURL, dataDir, "ticket.db",
		func(ctx context.Context, url string) (ticket.Store, error) { return OpenPostgres(ctx, url) },
		func(ctx context.Context, path string) (ticket.Store, error) { return OpenSQLite(ctx, path) })
}

// Kinds of resource an idempotency key can point at.
const (
	kindTicket  = "ticket"
	kindComment = "comment"
)

// now is the store's clock: UTC, at the microsecond precision both engines
// keep, so what a write returns equals what a read returns later.
func now() time.Time { return normTime(time.Now()) }

func normTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Microsecond)
}

// normTicket returns t as the store keeps it: UTC microsecond times,
// non-nil tags and custom fields, an SLA of its own (see normSLA).
func normTicket(t ticket.Ticket) ticket.Ticket {
	t.CreateTime = normTime(t.CreateTime)
	t.UpdateTime = normTime(t.UpdateTime)
	t.SolveTime = normTime(t.SolveTime)
	t.SLA = normSLA(t.SLA)
	t.Tags = slices.Clone(t.Tags)
	if t.Tags == nil {
		t.Tags = []string{}
	}
	t.CustomFields = maps.Clone(t.CustomFields)
	if t.CustomFields == nil {
		t.CustomFields = map[string]string{}
	}
	t.Attachments = normAttachments(t.Attachments)
	return t
}

// normAttachments is a copy of as, nil when there are none, each with its
// content type defaulted.
func normAttachments(as []ticket.Attachment) []ticket.Attachment {
	if len(as) == 0 {
		return nil
	}
	out := slices.Clone(as)
	for i := range out {
		if out[i].ContentType == "" {
			out[i].ContentType = ticket.DefaultContentType
		}
	}
	return out
}

// normSLA returns a copy of s as the store keeps it: UTC microsecond
// times, derived fields recomputed, nil clocks when there are none. nil
// stays nil.
func normSLA(s *ticket.SLA) *ticket.SLA {
	if s == nil {
		return nil
	}
	out := *s
	out.UpdateTime = normTime(out.UpdateTime)
	out.Clocks = slices.Clone(out.Clocks)
	for i := range out.Clocks {
		c := &out.Clocks[i]
		c.Due, c.BreachTime = normTime(c.Due), normTime(c.BreachTime)
	}
	if len(out.Clocks) == 0 {
		out.Clocks = nil
	}
	out = out.Derive()
	return &out
}

func normComment(c ticket.Comment) ticket.Comment {
	c.CreateTime = normTime(c.CreateTime)
	c.Attachments = normAttachments(c.Attachments)
	return c
}

// attachmentJSON is an attachment in an event payload and in the rows the
// engines' read queries aggregate (attachmentsColumn).
type attachmentJSON struct {
	ID          string `json:"id"`
	Position    int    `json:"position"`
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
	Inline      bool   `json:"inline"`
	ContentID   string `json:"content_id"`
}

func toAttachmentsJSON(as []ticket.Attachment) []attachmentJSON {
	if len(as) == 0 {
		return nil
	}
	out := make([]attachmentJSON, len(as))
	for i, a := range as {
		out[i] = attachmentJSON{ID: a.ID, Position: i, Filename: a.Filename, ContentType: a.ContentType,
			Size: a.Size, SHA256: a.SHA256, Inline: a.Inline, ContentID: a.ContentID}
	}
	return out
}

func fromAttachmentsJSON(in []attachmentJSON) []ticket.Attachment {
	if len(in) == 0 {
		return nil
	}
	out := make([]ticket.Attachment, len(in))
	for i, a := range in {
		out[i] = ticket.Attachment{ID: a.ID, Filename: a.Filename, ContentType: a.ContentType,
			Size: a.Size, SHA256: a.SHA256, Inline: a.Inline, ContentID: a.ContentID}
	}
	return out
}

// encodeAttachmentRows is the JSON array of as that the engines' inserts
// read, each with its position.
func encodeAttachmentRows(as []ticket.Attachment) []byte {
	rows := toAttachmentsJSON(as)
	if rows == nil {
		rows = []attachmentJSON{}
	}
	b, _ := json.Marshal(rows) // plain strings, numbers and bools always encode
	return b
}

// decodeAttachments reads the aggregate of an attachments subquery: NULL
// (PostgreSQL) or [] (SQLite) when there are none.
func decodeAttachments(b []byte) ([]ticket.Attachment, error) {
	if len(b) == 0 {
		return nil, nil
	}
	var rows []attachmentJSON
	if err := json.Unmarshal(b, &rows); err != nil {
		return nil, fmt.Errorf("decoding attachments: %w", err)
	}
	slices.SortStableFunc(rows, func(a, b attachmentJSON) int { return a.Position - b.Position })
	return fromAttachmentsJSON(rows), nil
}

// text is one text value given to the store, named for the error that
// refuses it.
type text struct{ field, value string }

// checkText refuses the first value that holds a NUL byte with
// ticket.ErrNULText, naming its field: PostgreSQL fails on it ("invalid
// byte sequence for encoding UTF8: 0x00") where SQLite stores it, and the
// engines must not differ. The API refuses NUL before it reaches a store;
// this keeps the engines alike for every other caller.
func checkText(values ...text) error {
	for _, v := range values {
		if strings.IndexByte(v.value, 0) >= 0 {
			return fmt.Errorf("%s %q: %w", v.field, v.value, ticket.ErrNULText)
		}
	}
	return nil
}

// ticketText is every text value of t, and of idem, for checkText.
func ticketText(t ticket.Ticket, idem ticket.Idempotency) []text {
	out := []text{
		{"tenant", t.Tenant}, {"id", t.ID}, {"subject", t.Subject}, {"description", t.Description},
		{"status", string(t.Status)}, {"channel", string(t.Channel)},
		{"requester name", t.Requester.Name}, {"requester email", t.Requester.Email},
		{"requester identity", t.Requester.Identity}, {"requester contact id", t.Requester.ContactID},
		{"group", t.Group}, {"assignee", t.Assignee},
		{"idempotency key", idem.Key}, {"request hash", idem.RequestHash},
	}
	for _, tag := range t.Tags {
		out = append(out, text{"tag", tag})
	}
	for _, k := range slices.Sorted(maps.Keys(t.CustomFields)) {
		out = append(out, text{"custom field key", k}, text{"custom field " + k, t.CustomFields[k]})
	}
	if t.SLA != nil {
		out = append(out, text{"SLA policy", t.SLA.Policy})
	}
	return append(out, attachmentText(t.Attachments)...)
}

// attachmentText is every text value of as, for checkText.
func attachmentText(as []ticket.Attachment) []text {
	var out []text
	for _, a := range as {
		out = append(out, text{"attachment id", a.ID}, text{"attachment filename", a.Filename},
			text{"attachment content type", a.ContentType}, text{"attachment sha256", a.SHA256},
			text{"attachment content id", a.ContentID})
	}
	return out
}

// commentText is every text value of c, and of idem, for checkText.
func commentText(c ticket.Comment, idem ticket.Idempotency) []text {
	return append([]text{
		{"tenant", c.Tenant}, {"id", c.ID}, {"ticket id", c.TicketID}, {"author", c.Author},
		{"author type", string(c.AuthorType)}, {"body", c.Body}, {"visibility", string(c.Visibility)},
		{"actor id", c.Actor.ID}, {"actor kind", string(c.Actor.Kind)}, {"actor name", c.Actor.DisplayName},
		{"idempotency key", idem.Key}, {"request hash", idem.RequestHash},
	}, attachmentText(c.Attachments)...)
}

// checkNewText is checkText of the values next has and cur had not: a
// ticket stored with a NUL before the engines refused it (SQLite kept
// them) can still be updated, as long as the update brings no new one.
func checkNewText(cur, next ticket.Ticket) error {
	// Every update and SLA write comes here: look at cur only when next
	// holds a NUL at all, which is almost never.
	var had []text
	for _, v := range ticketText(next, ticket.Idempotency{}) {
		if checkText(v) == nil {
			continue
		}
		if had == nil {
			had = ticketText(cur, ticket.Idempotency{})
		}
		if !slices.Contains(had, v) {
			return checkText(v)
		}
	}
	return nil
}

// filterText is every text value of q's filter and scope, for checkText.
func filterText(q ticket.ListQuery) []text {
	f, s := q.Filter, q.Scope
	if s == nil {
		s = &ticket.Scope{}
	}
	var out []text
	for _, vs := range []struct {
		field  string
		values []string
	}{
		{"filter assignee", f.Assignees}, {"filter group", f.Groups}, {"filter requester", f.Requesters}, {"filter tag", f.Tags},
		{"filter contact", f.Contacts},
		{"scope group", s.Groups}, {"scope assignee", s.Assignees}, {"scope requester email", s.RequesterEmails},
		{"scope requester identity", s.RequesterIdentities}, {"scope requester contact", s.RequesterContacts},
	} {
		for _, v := range vs.values {
			out = append(out, text{vs.field, v})
		}
	}
	return out
}

// mutateTicket runs mutate on a copy of cur (so a mutation that edits the
// ticket but reports no change leaves nothing behind) and returns the new
// ticket, with its identity and SLA kept and its version and update time
// bumped, and mutate's changes. A nil mutate reports no changes.
func mutateTicket(cur ticket.Ticket, mutate ticket.Mutation, at time.Time) (next ticket.Ticket, changes []ticket.Change, err error) {
	next = normTicket(cur)
	if mutate != nil {
		if changes, err = mutate(&next); err != nil {
			return ticket.Ticket{}, nil, err
		}
	}
	next = normTicket(next)
	if err := checkNewText(cur, next); err != nil {
		return ticket.Ticket{}, nil, err
	}
	next.ID, next.Tenant, next.CreateTime = cur.ID, cur.Tenant, cur.CreateTime
	next.SLA = normSLA(cur.SLA) // SetSLA's to change; the write leaves its columns alone
	next.Version = cur.Version + 1
	next.UpdateTime = at
	return next, changes, nil
}

// eventPayload is the JSON of an event row. It has its own field names so
// renaming a Go field does not change rows already written.
type eventPayload struct {
	// Format is payloadTyped for rows whose changes hold typed values;
	// absent (0) in rows written before, whose changes are text.
	Format  int          `json:"format,omitempty"`
	Ticket  ticketJSON   `json:"ticket"`
	Comment *commentJSON `json:"comment,omitempty"`
	Changes []changeJSON `json:"changes,omitempty"`
	// TraceParent is the trace context of the change (W3C traceparent).
	TraceParent string `json:"traceparent,omitempty"`
	// Actor is who made the change; absent when nobody known did (and in
	// rows written before kubedesk authenticated callers).
	Actor *actorJSON `json:"actor,omitempty"`
	// Routing is the routing decision of a routing.assigned event and of
	// the ticket.updated event of its changes.
	Routing *routingJSON `json:"routing,omitempty"`
}

// routingJSON is a ticket.Routing in an event row.
type routingJSON struct {
	ID          string   `json:"id"`
	Trigger     string   `json:"trigger,omitempty"`
	Outcome     string   `json:"outcome,omitempty"`
	Group       string   `json:"group,omitempty"`
	Agent       string   `json:"agent,omitempty"`
	Rules       []string `json:"rules,omitempty"`
	Explanation string   `json:"explanation,omitempty"`
}

func toRoutingJSON(r *ticket.Routing) *routingJSON {
	if r == nil {
		return nil
	}
	return &routingJSON{ID: r.ID, Trigger: r.Trigger, Outcome: r.Outcome, Group: r.Group, Agent: r.Agent,
		Rules: slices.Clone(r.Rules), Explanation: r.Explanation}
}

func fromRoutingJSON(j *routingJSON) *ticket.Routing {
	if j == nil {
		return nil
	}
	return &ticket.Routing{ID: j.ID, Trigger: j.Trigger, Outcome: j.Outcome, Group: j.Group, Agent: j.Agent,
		Rules: slices.Clone(j.Rules), Explanation: j.Explanation}
}

// actorJSON is a ticket.Actor in an event row.
type actorJSON struct {
	ID          string           `json:"id"`
	Kind        ticket.ActorKind `json:"kind,omitempty"`
	DisplayName string           `json:"display_name,omitempty"`
}

func toActorJSON(a ticket.Actor) *actorJSON {
	if a.IsZero() {
		return nil
	}
	return &actorJSON{ID: a.ID, Kind: a.Kind, DisplayName: a.DisplayName}
}

func fromActorJSON(j *actorJSON) ticket.Actor {
	if j == nil {
		return ticket.Actor{}
	}
	return ticket.Actor{ID: j.ID, Kind: j.Kind, DisplayName: j.DisplayName}
}

// payloadTyped is the format of event rows with typed changes. Rows of
// format 0 are read as they are: their text changes are parsed back
// (ticket.ParseChangeText), so no migration rewrites the outbox.
const payloadTyped = 2

// changeJSON is one change in an event row: old and new are the JSON of
// the typed values (format 2) or text (format 0).
type changeJSON struct {
	Field string          `json:"field"`
	Old   json.RawMessage `json:"old"`
	New   json.RawMessage `json:"new"`
}

func encodeChanges(changes []ticket.Change) ([]changeJSON, error) {
	if len(changes) == 0 {
		return nil, nil
	}
	out := make([]changeJSON, len(changes))
	for i, c := range changes {
		// Unparsed text would not read back as the field's type.
		_, oldText := c.Old.(ticket.Unparsed)
		_, newText := c.New.(ticket.Unparsed)
		if oldText || newText {
			return nil, fmt.Errorf("change of %s: an unparsed value read from an old event is not written again", c.Field)
		}
		old, err := json.Marshal(c.Old)
		if err != nil {
			return nil, fmt.Errorf("change of %s: %w", c.Field, err)
		}
		next, err := json.Marshal(c.New)
		if err != nil {
			return nil, fmt.Errorf("change of %s: %w", c.Field, err)
		}
		out[i] = changeJSON{Field: c.Field, Old: old, New: next}
	}
	return out, nil
}

// decodeChanges reads an event row's changes; after is the event's ticket.
func decodeChanges(format int, in []changeJSON, after ticket.Ticket) ([]ticket.Change, error) {
	if len(in) == 0 {
		return nil, nil
	}
	out := make([]ticket.Change, len(in))
	for i, c := range in {
		if format < payloadTyped {
			var old, next string
			if err := json.Unmarshal(c.Old, &old); err != nil {
				return nil, fmt.Errorf("change of %s: %w", c.Field, err)
			}
			if err := json.Unmarshal(c.New, &next); err != nil {
				return nil, fmt.Errorf("change of %s: %w", c.Field, err)
			}
			out[i] = ticket.ParseChangeText(c.Field, old, next, after)
			continue
		}
		old, err := ticket.DecodeChangeValue(c.Field, c.Old)
		if err != nil {
			return nil, err
		}
		next, err := ticket.DecodeChangeValue(c.Field, c.New)
		if err != nil {
			return nil, err
		}
		out[i] = ticket.Change{Field: c.Field, Old: old, New: next}
	}
	return out, nil
}

type ticketJSON struct {
	ID           string            `json:"id"`
	Tenant       string            `json:"tenant"`
	Subject      string            `json:"subject"`
	Description  string            `json:"description"`
	Status       ticket.Status     `json:"status"`
	Impact       int               `json:"impact"`
	Urgency      int               `json:"urgency"`
	Priority     ticket.Priority   `json:"priority"`
	Channel      ticket.Channel    `json:"channel"`
	Requester    ticket.Requester  `json:"requester"`
	Group        string            `json:"group"`
	Assignee     string            `json:"assignee"`
	Tags         []string          `json:"tags"`
	CustomFields map[string]string `json:"custom_fields"`
	CreateTime   time.Time         `json:"create_time"`
	UpdateTime   time.Time         `json:"update_time"`
	SolveTime    *time.Time        `json:"solve_time,omitempty"`
	Version      int64             `json:"version"`
	SLA          *slaJSON          `json:"sla,omitempty"`
	Number       int64             `json:"number,omitempty"`
	Attachments  []attachmentJSON  `json:"attachments,omitempty"`
}

// slaJSON is a ticket's SLA as the tickets.sla column and event payloads
// keep it: the worker's input only, since the summary is derived on read.
type slaJSON struct {
	Policy     string         `json:"policy"`
	Clocks     []slaClockJSON `json:"clocks"`
	UpdateTime time.Time      `json:"update_time"`
}

type slaClockJSON struct {
	Clock       ticket.SLAClock `json:"clock"`
	State       ticket.SLAState `json:"state"`
	Due         *time.Time      `json:"due_time,omitempty"`
	RemainingNS int64           `json:"remaining_ns"`
	TargetNS    int64           `json:"target_ns"`
	BreachTime  *time.Time      `json:"breach_time,omitempty"`
}

func toSLAJSON(s *ticket.SLA) *slaJSON {
	if s == nil {
		return nil
	}
	out := &slaJSON{Policy: s.Policy, Clocks: make([]slaClockJSON, len(s.Clocks)), UpdateTime: s.UpdateTime}
	for i, c := range s.Clocks {
		out.Clocks[i] = slaClockJSON{
			Clock: c.Clock, State: c.State, Due: optTime(c.Due),
			RemainingNS: int64(c.Remaining), TargetNS: int64(c.Target), BreachTime: optTime(c.BreachTime),
		}
	}
	return out
}

// fromSLAJSON is the inverse of toSLAJSON, normalised (normSLA).
func fromSLAJSON(j *slaJSON) *ticket.SLA {
	if j == nil {
		return nil
	}
	out := &ticket.SLA{Policy: j.Policy, UpdateTime: j.UpdateTime}
	for _, c := range j.Clocks {
		cs := ticket.SLAClockStatus{Clock: c.Clock, State: c.State,
			Remaining: time.Duration(c.RemainingNS), Target: time.Duration(c.TargetNS)}
		if c.Due != nil {
			cs.Due = *c.Due
		}
		if c.BreachTime != nil {
			cs.BreachTime = *c.BreachTime
		}
		out.Clocks = append(out.Clocks, cs)
	}
	return normSLA(out)
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// slaRow is what the tickets table keeps of an SLA: the JSON (nil for no
// SLA) and the columns the list filter and order read.
type slaRow struct {
	json       []byte // nil: NULL
	state      string // '' without clocks
	nextDue    time.Time
	updateTime time.Time
}

func encodeSLA(s *ticket.SLA) (slaRow, error) {
	if s == nil {
		return slaRow{}, nil
	}
	b, err := json.Marshal(toSLAJSON(s))
	if err != nil {
		return slaRow{}, fmt.Errorf("encoding SLA: %w", err)
	}
	return slaRow{json: b, state: string(s.State), nextDue: s.NextDue, updateTime: s.UpdateTime}, nil
}

// decodeSLA reads the tickets.sla column; nil or empty is no SLA.
func decodeSLA(b []byte) (*ticket.SLA, error) {
	if len(b) == 0 {
		return nil, nil
	}
	var j slaJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, fmt.Errorf("decoding SLA: %w", err)
	}
	return fromSLAJSON(&j), nil
}

// setSLA is the part of SetSLA both engines share. Given the locked ticket
// and the SLA to store, it returns the ticket after the write, with the SLA
// normalised and its summary derived whatever the caller sent; whether to
// write at all (not a stale write); and whether to write an EventSLAChanged
// event, with its changes.
func setSLA(cur ticket.Ticket, in ticket.SLA) (next ticket.Ticket, write, changed bool, changes []ticket.Change) {
	sla := normSLA(&in)
	if cur.SLA != nil && cur.SLA.UpdateTime.After(sla.UpdateTime) {
		return cur, false, false, nil
	}
	next = normTicket(cur)
	next.SLA = sla
	changes, changed = ticket.SLAChanges(cur.SLA, sla)
	return next, true, changed, changes
}

// slaWrite is what SetSLA writes, worked out from the locked ticket before
// anything is written; both engines share it.
type slaWrite struct {
	at      time.Time     // the instant of the write and its events
	withSLA ticket.Ticket // the ticket with the new SLA (the stored one if stale)
	write   bool          // the SLA is not stale: store it
	changed bool          // a clock's state changed: write an EventSLAChanged
	changes []ticket.Change
	// escalated is the ticket after the escalation, written with an
	// EventTicketUpdated when escalation changed something.
	escalated  ticket.Ticket
	escalation []ticket.Change
}

// planSetSLA applies sla, then escalate (nil: none), to cur in memory. An
// error is escalate's own, and nothing is to be written.
func planSetSLA(cur ticket.Ticket, sla ticket.SLA, escalate ticket.Mutation, at time.Time) (slaWrite, error) {
	w := slaWrite{at: at}
	w.withSLA, w.write, w.changed, w.changes = setSLA(cur, sla)
	if escalate != nil {
		var err error
		if w.escalated, w.escalation, err = mutateTicket(w.withSLA, escalate, at); err != nil {
			return slaWrite{}, err
		}
	}
	return w, nil
}

// result is the ticket as stored once w is written.
func (w slaWrite) result() ticket.Ticket {
	if len(w.escalation) > 0 {
		return w.escalated
	}
	return w.withSLA
}

// routingText is every text value of a routing decision and its note,
// for checkText.
func routingText(r ticket.Routing, note *ticket.Comment) []text {
	out := []text{{"decision id", r.ID}, {"decision trigger", r.Trigger}, {"decision outcome", r.Outcome},
		{"decision group", r.Group}, {"decision agent", r.Agent}, {"decision explanation", r.Explanation}}
	for _, rule := range r.Rules {
		out = append(out, text{"decision rule", rule})
	}
	if note != nil {
		out = append(out, commentText(*note, ticket.Idempotency{})...)
	}
	return out
}

// routingWrite is what ApplyRouting writes, worked out from the locked
// ticket before anything is written; both engines share it.
type routingWrite struct {
	at      time.Time
	next    ticket.Ticket   // the ticket after the decision (cur when nothing changes)
	changes []ticket.Change // mutate's: an EventTicketUpdated when any
	// note is the comment to add, with its time set; nil for none.
	note *ticket.Comment
	// bump: the ticket row is written (a change or a note).
	bump bool
	// updated and assigned are the payloads of the two events; updated
	// is nil without changes.
	updated, assigned []byte
}

// planRouting applies mutate to cur in memory and encodes the events. An
// error from mutate is its own, and nothing is to be written.
func planRouting(ctx context.Context, cur ticket.Ticket, r ticket.Routing, note *ticket.Comment, mutate ticket.Mutation, at time.Time) (routingWrite, error) {
	w := routingWrite{at: at}
	next, changes, err := mutateTicket(cur, mutate, at)
	if err != nil {
		return routingWrite{}, err
	}
	if note != nil {
		n := normComment(*note)
		n.Attachments = nil
		w.note = &n
	}
	w.changes, w.bump = changes, len(changes) > 0 || w.note != nil
	if w.bump {
		w.next = next
	} else {
		w.next = normTicket(cur)
	}
	if len(changes) > 0 {
		if w.updated, err = encodeRoutedPayload(ctx, w.next, nil, changes, &r); err != nil {
			return routingWrite{}, err
		}
	}
	if w.assigned, err = encodeRoutedPayload(ctx, w.next, w.note, nil, &r); err != nil {
		return routingWrite{}, err
	}
	return w, nil
}

type commentJSON struct {
	ID         string            `json:"id"`
	Author     string            `json:"author"`
	AuthorType ticket.AuthorType `json:"author_type"`
	Body       string            `json:"body"`
	Visibility ticket.Visibility `json:"visibility"`
	CreateTime time.Time         `json:"create_time"`
	Actor      *actorJSON        `json:"actor,omitempty"`
	// Attachments are the comment's files.
	Attachments []attachmentJSON `json:"attachments,omitempty"`
}

func encodePayload(ctx context.Context, t ticket.Ticket, c *ticket.Comment, changes []ticket.Change) ([]byte, error) {
	return encodeRoutedPayload(ctx, t, c, changes, nil)
}

// encodeRoutedPayload is encodePayload of an event that carries a routing
// decision (nil: none).
func encodeRoutedPayload(ctx context.Context, t ticket.Ticket, c *ticket.Comment, changes []ticket.Change, r *ticket.Routing) ([]byte, error) {
	typed, err := encodeChanges(changes)
	if err != nil {
		return nil, fmt.Errorf("encoding event: %w", err)
	}
	p := eventPayload{
		Format:      payloadTyped,
		TraceParent: traceParent(ctx),
		Actor:       toActorJSON(ticket.ActorFrom(ctx)),
		Ticket: ticketJSON{
			ID: t.ID, Tenant: t.Tenant, Subject: t.Subject, Description: t.Description,
			Status: t.Status, Impact: t.Impact, Urgency: t.Urgency, Priority: t.Priority,
			Channel: t.Channel, Requester: t.Requester, Group: t.Group, Assignee: t.Assignee,
			Tags: t.Tags, CustomFields: t.CustomFields, CreateTime: t.CreateTime,
			UpdateTime: t.UpdateTime, Version: t.Version, SLA: toSLAJSON(t.SLA),
			Number: t.Number, Attachments: toAttachmentsJSON(t.Attachments),
		},
		Changes: typed,
		Routing: toRoutingJSON(r),
	}
	if !t.SolveTime.IsZero() {
		p.Ticket.SolveTime = &t.SolveTime
	}
	if c != nil {
		p.Comment = &commentJSON{
			ID: c.ID, Author: c.Author, AuthorType: c.AuthorType, Body: c.Body,
			Visibility: c.Visibility, CreateTime: c.CreateTime, Actor: toActorJSON(c.Actor),
			Attachments: toAttachmentsJSON(c.Attachments),
		}
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("encoding event: %w", err)
	}
	return b, nil
}

// decodeEvent fills e's ticket, comment and changes from a payload.
func decodeEvent(e *ticket.Event, payload []byte) error {
	var p eventPayload
	if err := json.Unmarshal(payload, &p); err != nil {
		return fmt.Errorf("decoding event %s: %w", e.Cursor, err)
	}
	e.TraceParent = p.TraceParent
	e.Actor = fromActorJSON(p.Actor)
	e.Routing = fromRoutingJSON(p.Routing)
	j := p.Ticket
	e.Ticket = normTicket(ticket.Ticket{
		ID: j.ID, Tenant: j.Tenant, Subject: j.Subject, Description: j.Description,
		Status: j.Status, Impact: j.Impact, Urgency: j.Urgency, Priority: j.Priority,
		Channel: j.Channel, Requester: j.Requester, Group: j.Group, Assignee: j.Assignee,
		Tags: j.Tags, CustomFields: j.CustomFields, CreateTime: j.CreateTime,
		UpdateTime: j.UpdateTime, Version: j.Version, SLA: fromSLAJSON(j.SLA),
		Number: j.Number, Attachments: fromAttachmentsJSON(j.Attachments),
	})
	if j.SolveTime != nil {
		e.Ticket.SolveTime = normTime(*j.SolveTime)
	}
	if c := p.Comment; c != nil {
		e.Comment = &ticket.Comment{
			ID: c.ID, Tenant: e.Tenant, TicketID: e.TicketID, Author: c.Author,
			AuthorType: c.AuthorType, Body: c.Body, Visibility: c.Visibility,
			CreateTime: normTime(c.CreateTime), Actor: fromActorJSON(c.Actor),
			Attachments: fromAttachmentsJSON(c.Attachments),
		}
	}
	changes, err := decodeChanges(p.Format, p.Changes, e.Ticket)
	if err != nil {
		return fmt.Errorf("decoding event %s: %w", e.Cursor, err)
	}
	e.Changes = changes
	return nil
}

// Cursors name an event's position; the prefix says which engine made it,
// so one engine's cursor is refused by the other.
const (
	sqliteCursorPrefix   = "s1:"
	postgresCursorPrefix = "p1:"
)

func sqliteCursor(id int64) string { return sqliteCursorPrefix + strconv.FormatInt(id, 10) }

// parseSQLiteCursor returns the event id after which to read; "" is 0.
func parseSQLiteCursor(c string) (int64, error) {
	if c == "" {
		return 0, nil
	}
	rest, ok := strings.CutPrefix(c, sqliteCursorPrefix)
	if !ok {
		return 0, ticket.ErrInvalidCursor
	}
	id, ok := parseCanonical(rest)
	if !ok {
		return 0, ticket.ErrInvalidCursor
	}
	return int64(id), nil
}

func postgresCursor(xid uint64, id int64) string {
	return postgresCursorPrefix + strconv.FormatUint(xid, 10) + ":" + strconv.FormatInt(id, 10)
}

// parsePostgresCursor returns the (xid, id) after which to read; "" is
// (0, 0), before every event.
func parsePostgresCursor(c string) (xid uint64, id int64, err error) {
	if c == "" {
		return 0, 0, nil
	}
	rest, ok := strings.CutPrefix(c, postgresCursorPrefix)
	if !ok {
		return 0, 0, ticket.ErrInvalidCursor
	}
	x, i, ok := strings.Cut(rest, ":")
	if !ok {
		return 0, 0, ticket.ErrInvalidCursor
	}
	xid, okX := parseCanonical(x)
	n, okI := parseCanonical(i)
	if !okX || !okI {
		return 0, 0, ticket.ErrInvalidCursor
	}
	return xid, int64(n), nil
}

// parseCanonical accepts a positive decimal that fits an int64, written
// the way the store writes it (no sign, no leading zeros).
func parseCanonical(s string) (uint64, bool) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || strconv.FormatInt(n, 10) != s {
		return 0, false
	}
	return uint64(n), true
}

func checkLimit(what string, limit int) error {
	if limit <= 0 {
		return fmt.Errorf("%s: limit %d: must be > 0", what, limit)
	}
	return nil
}

// listQuery builds the WHERE clause of ListTickets for either engine.
type listQuery struct {
	postgres bool
	args     []any
	where    []string
}

// arg adds a bind argument and returns its placeholder.
func (q *listQuery) arg(v any) string {
	q.args = append(q.args, v)
	if q.postgres {
		return "$" + strconv.Itoa(len(q.args))
	}
	return "?"
}

// in returns "col matches one of values" for the engine: = ANY($n) with one
// array argument on PostgreSQL, IN (?, ...) on SQLite.
func (q *listQuery) in(col string, values []string) string {
	if q.postgres {
		return col + " = ANY(" + q.arg(values) + ")"
	}
	marks := make([]string, len(values))
	for i, v := range values {
		marks[i] = q.arg(v)
	}
	return col + " IN (" + strings.Join(marks, ", ") + ")"
}

func strs[T ~string](vs []T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}

// listStmt is one SELECT of a ListTickets query; its last placeholder,
// not in args, is the LIMIT.
type listStmt struct {
	sql  string
	args []any
}

// buildList returns the statements of a ListTickets query for either
// engine. The caller runs them in order, each with LIMIT set to the rows
// still wanted, until the page is full. OrderNewest is one statement;
// OrderSLANextDue reads the tickets with a next due time, then those
// without, so each part is a range scan of the (tenant, sla_next_due, id)
// index rather than a sort of the tenant's tickets.
func buildList(postgres bool, tenant string, lq ticket.ListQuery) []listStmt {
	after := lq.After
	if lq.Order != ticket.OrderSLANextDue {
		q := filterWhere(postgres, tenant, lq.Filter, lq.Scope)
		if after.ID != "" {
			q.where = append(q.where, "id < "+q.arg(after.ID))
		}
		return []listStmt{q.stmt("id DESC")}
	}
	var out []listStmt
	// Past the tickets with a due time once the position has none.
	if after.ID == "" || !after.Due.IsZero() {
		q := filterWhere(postgres, tenant, lq.Filter, lq.Scope)
		q.where = append(q.where, "sla_next_due IS NOT NULL")
		if !after.Due.IsZero() {
			q.where = append(q.where, "(sla_next_due, id) > ("+q.arg(q.time(after.Due))+", "+q.arg(after.ID)+")")
		}
		out = append(out, q.stmt("sla_next_due, id"))
	}
	q := filterWhere(postgres, tenant, lq.Filter, lq.Scope)
	q.where = append(q.where, "sla_next_due IS NULL")
	if after.ID != "" && after.Due.IsZero() {
		q.where = append(q.where, "id < "+q.arg(after.ID))
	}
	return append(out, q.stmt("id DESC"))
}

// readColumns are the columns a ticket is read from on the engine.
func readColumns(postgres bool) string {
	if postgres {
		return pgTicketReadColumns
	}
	return sqliteTicketReadColumns
}

// stmt is the SELECT of q's conditions in the given order.
func (q *listQuery) stmt(orderBy string) listStmt {
	limit := "?"
	if q.postgres {
		limit = "$" + strconv.Itoa(len(q.args)+1)
	}
	return listStmt{
		sql:  `SELECT ` + readColumns(q.postgres) + ` FROM tickets WHERE ` + strings.Join(q.where, " AND ") + ` ORDER BY ` + orderBy + ` LIMIT ` + limit,
		args: q.args,
	}
}

// time is t as the engine keeps it.
func (q *listQuery) time(t time.Time) any {
	if q.postgres {
		return t
	}
	return micros(t)
}

// filterWhere starts a query with the tenant (always the first argument),
// the filter's conditions and the scope's (nil: none).
func filterWhere(postgres bool, tenant string, f ticket.Filter, scope *ticket.Scope) *listQuery {
	q := &listQuery{postgres: postgres}
	q.where = append(q.where, "tenant = "+q.arg(tenant))
	if len(f.Statuses) > 0 {
		q.where = append(q.where, q.in("status", strs(f.Statuses)))
	}
	if len(f.Priorities) > 0 {
		q.where = append(q.where, q.priorityIn(f.Priorities))
	}
	if len(f.Channels) > 0 {
		q.where = append(q.where, q.in("channel", strs(f.Channels)))
	}
	if len(f.Assignees) > 0 {
		q.where = append(q.where, q.in("assignee", f.Assignees))
	}
	if len(f.Groups) > 0 {
		q.where = append(q.where, q.in("group_name", f.Groups))
	}
	if len(f.Requesters) > 0 {
		q.where = append(q.where, "("+q.in("requester_email", f.Requesters)+" OR "+q.in("requester_identity", f.Requesters)+")")
	}
	if len(f.Contacts) > 0 {
		q.where = append(q.where, q.in("requester_contact_id", f.Contacts))
	}
	if len(f.Numbers) > 0 {
		q.where = append(q.where, q.numberIn(f.Numbers))
	}
	if len(f.Tags) > 0 {
		if postgres {
			q.where = append(q.where, "tags && "+q.arg(f.Tags)+"::text[]")
		} else {
			// ticket_tags is the index of the JSON tags column.
			q.where = append(q.where, "id IN (SELECT ticket_id FROM ticket_tags WHERE tenant = "+q.arg(tenant)+" AND "+q.in("tag", f.Tags)+")")
		}
	}
	if len(f.SLAStates) > 0 {
		// SLANone is '', the column's value for tickets without clocks.
		q.where = append(q.where, q.in("sla_state", strs(f.SLAStates)))
	}
	if scope != nil {
		q.where = append(q.where, q.scope(*scope))
	}
	return q
}

// scope is the condition of a ticket.Scope: a ticket matching any of its
// lists; nothing for an empty one.
func (q *listQuery) scope(s ticket.Scope) string {
	var anyOf []string
	if len(s.Groups) > 0 {
		anyOf = append(anyOf, q.in("group_name", s.Groups))
	}
	if len(s.Assignees) > 0 {
		anyOf = append(anyOf, q.in("assignee", s.Assignees))
	}
	if len(s.RequesterEmails) > 0 {
		folded := make([]string, len(s.RequesterEmails))
		for i, e := range s.RequesterEmails {
			folded[i] = ticket.FoldEmail(e)
		}
		// The expressions of the tickets_requester_email_folded indexes.
		col := "lower(requester_email)"
		if q.postgres {
			col = `lower(requester_email COLLATE "C")`
		}
		anyOf = append(anyOf, q.in(col, folded))
	}
	if len(s.RequesterIdentities) > 0 {
		anyOf = append(anyOf, q.in("requester_identity", s.RequesterIdentities))
	}
	if contacts := nonEmptyStrings(s.RequesterContacts); len(contacts) > 0 {
		// '' is no contact: it never matches one.
		anyOf = append(anyOf, q.in("requester_contact_id", contacts))
	}
	if len(anyOf) == 0 {
		return "1 = 0"
	}
	return "(" + strings.Join(anyOf, " OR ") + ")"
}

// numberIn is in for the number column.
func (q *listQuery) numberIn(ns []int64) string {
	if q.postgres {
		return "number = ANY(" + q.arg(ns) + "::bigint[])"
	}
	marks := make([]string, len(ns))
	for i, n := range ns {
		marks[i] = q.arg(n)
	}
	return "number IN (" + strings.Join(marks, ", ") + ")"
}

// priorityIn is in for the integer priority column.
func (q *listQuery) priorityIn(ps []ticket.Priority) string {
	if q.postgres {
		vs := make([]int16, len(ps))
		for i, p := range ps {
			vs[i] = int16(p)
		}
		return "priority = ANY(" + q.arg(vs) + "::smallint[])"
	}
	marks := make([]string, len(ps))
	for i, p := range ps {
		marks[i] = q.arg(int64(p))
	}
	return "priority IN (" + strings.Join(marks, ", ") + ")"
}

// traceParent returns the W3C traceparent of the span in ctx, empty when
// there is none: an event keeps the trace of the change that wrote it.
func traceParent(ctx context.Context) string {
	carrier := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(ctx, carrier)
	return carrier["traceparent"]
}

// nonEmptyStrings is vs without its empty strings.
func nonEmptyStrings(vs []string) []string {
	var out []string
	for _, v := range vs {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}
