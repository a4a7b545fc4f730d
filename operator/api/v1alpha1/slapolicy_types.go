package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Priority is a ticket priority, P1 (most urgent) to P5.
// +kubebuilder:validation:Enum=P1;P2;P3;P4;P5
type Priority string

// Weekday names a day of the week.
// +kubebuilder:validation:Enum=Mon;Tue;Wed;Thu;Fri;Sat;Sun
type Weekday string

// TicketStatus is a ticket lifecycle status an SLA clock can pause on.
// +kubebuilder:validation:Enum=new;open;pending;on_hold
type TicketStatus string

// LocalObjectReference names an object in the same namespace.
type LocalObjectReference struct {
	// Name of the object: a DNS label, as tenant IDs are.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Name string `json:"name"`
}

// SLAPolicySpec says which tickets a policy covers, how long each priority
// may take, on which business calendar, and what happens on a breach.
type SLAPolicySpec struct {
	// TenantRef names the HelpdeskTenant the policy applies to (in the
	// all-in-one binary: the tenant ID).
	TenantRef LocalObjectReference `json:"tenantRef"`

	// Precedence orders policies when several match a ticket: lower wins;
	// equal precedences are ordered by name. It starts at 1: 0 is the
	// unset value, which reads as the default 100.
	// +kubebuilder:default=100
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=10000
	// +optional
	Precedence int32 `json:"precedence,omitempty"`

	// Match selects the tickets the policy covers; empty matches every
	// ticket of the tenant.
	// +optional
	Match SLAMatch `json:"match,omitempty"`

	// Calendar is the business calendar targets count on unless they say
	// businessHours: false. Empty (no working hours, holidays or extra
	// working days, in UTC) means the tenant's calendar in the operator
	// (the HelpdeskTenant's spec.calendar, when it has one), else around
	// the clock in UTC.
	// +optional
	Calendar BusinessCalendar `json:"calendar,omitempty"`

	// Targets gives, per priority, how long the first response, each next
	// response and the resolution may take.
	// +listType=map
	// +listMapKey=priority
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=5
	Targets []SLATarget `json:"targets"`

	// PauseOn lists the statuses during which the clocks stop, e.g. while
	// waiting on the customer.
	// +kubebuilder:default={pending}
	// +listType=set
	// +optional
	PauseOn []TicketStatus `json:"pauseOn,omitempty"`

	// WarningThresholdPercent is the share of a target after which the clock
	// turns to warning (yellow).
	// +kubebuilder:default=75
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=99
	// +optional
	WarningThresholdPercent int32 `json:"warningThresholdPercent,omitempty"`

	// BreachActions run, in order, when a target is breached.
	// +kubebuilder:validation:MaxItems=10
	// +optional
	BreachActions []BreachAction `json:"breachActions,omitempty"`

	// ApplyToRunning makes a change of this policy apply to tickets whose
	// clocks are already running; by default it applies to new tickets only.
	// +optional
	ApplyToRunning bool `json:"applyToRunning,omitempty"`
}

// SLAMatch selects tickets. Within a list the values are alternatives; all
// non-empty lists must match.
type SLAMatch struct {
	// Priorities of the tickets covered.
	// +listType=set
	// +optional
	Priorities []Priority `json:"priorities,omitempty"`
	// Channels such as web, email, chat, wechat, api, phone.
	// +listType=set
	// +optional
	Channels []Channel `json:"channels,omitempty"`
	// CustomerTiers such as vip or standard.
	// +listType=set
	// +kubebuilder:validation:MaxItems=50
	// +kubebuilder:validation:items:MaxLength=100
	// +optional
	CustomerTiers []string `json:"customerTiers,omitempty"`
	// Groups that own the ticket.
	// +listType=set
	// +kubebuilder:validation:MaxItems=50
	// +kubebuilder:validation:items:MaxLength=200
	// +optional
	Groups []string `json:"groups,omitempty"`
	// Tags of which the ticket carries at least one.
	// +listType=set
	// +kubebuilder:validation:MaxItems=50
	// +kubebuilder:validation:items:MaxLength=100
	// +optional
	Tags []string `json:"tags,omitempty"`
}

// Channel is how a request reached the help desk.
// +kubebuilder:validation:Enum=web;email;chat;wechat;api;phone
type Channel string

// BusinessCalendar says when the help desk works.
type BusinessCalendar struct {
	// TimeZone is an IANA time zone name such as Asia/Shanghai.
	// +kubebuilder:default=UTC
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*$`
	// +optional
	TimeZone string `json:"timeZone,omitempty"`
	// WorkingHours are the weekly working windows.
	// +kubebuilder:validation:MaxItems=21
	// +optional
	WorkingHours []WorkingHours `json:"workingHours,omitempty"`
	// Holidays are closed date ranges.
	// +kubebuilder:validation:MaxItems=366
	// +optional
	Holidays []Holiday `json:"holidays,omitempty"`
	// ExtraWorkingDays are dates (YYYY-MM-DD) that work although their
	// weekday does not, such as the weekend days China's holiday schedule
	// turns into working days.
	// +listType=set
	// +kubebuilder:validation:MaxItems=366
	// +kubebuilder:validation:items:Pattern=`^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$`
	// +kubebuilder:validation:items:MaxLength=10
	// +optional
	ExtraWorkingDays []string `json:"extraWorkingDays,omitempty"`
}

// WorkingHours is one working window on some days of the week.
// +kubebuilder:validation:XValidation:rule="self.end > self.start",message="end must be after start",fieldPath=".end"
type WorkingHours struct {
	// Days the window applies to.
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=7
	Days []Weekday `json:"days"`
	// Start as HH:MM, local time.
	// +kubebuilder:validation:MaxLength=5
	// +kubebuilder:validation:Pattern=`^([01][0-9]|2[0-3]):[0-5][0-9]$`
	Start string `json:"start"`
	// End as HH:MM (24:00 allowed), local time.
	// +kubebuilder:validation:MaxLength=5
	// +kubebuilder:validation:Pattern=`^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$`
	End string `json:"end"`
}

// Holiday is a closed range of dates, both ends included.
// +kubebuilder:validation:XValidation:rule="self.to >= self.from",message="to must not be before from",fieldPath=".to"
type Holiday struct {
	// Name such as 国庆节.
	// +kubebuilder:validation:MaxLength=100
	// +optional
	Name string `json:"name,omitempty"`
	// From is the first closed date, YYYY-MM-DD.
	// +kubebuilder:validation:MaxLength=10
	// +kubebuilder:validation:Pattern=`^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$`
	From string `json:"from"`
	// To is the last closed date, YYYY-MM-DD.
	// +kubebuilder:validation:MaxLength=10
	// +kubebuilder:validation:Pattern=`^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$`
	To string `json:"to"`
}

// SLATarget is how long each clock of one priority may run.
// +kubebuilder:validation:XValidation:rule="has(self.firstResponse) || has(self.nextResponse) || has(self.resolution)",message="set at least one of firstResponse, nextResponse, resolution"
type SLATarget struct {
	// Priority the targets are for; each priority at most once per policy.
	Priority Priority `json:"priority"`
	// FirstResponse is the time to the first public reply by an agent, as
	// a Go duration such as 30m or 1h30m.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:Pattern=`^([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="!self.matches('^([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+$') || (duration(self) > duration('0s') && duration(self) <= duration('8760h'))",message="firstResponse must be positive and at most 8760h (a year)"
	// +optional
	FirstResponse *metav1.Duration `json:"firstResponse,omitempty"`
	// NextResponse is the time to answer each later customer reply.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:Pattern=`^([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="!self.matches('^([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+$') || (duration(self) > duration('0s') && duration(self) <= duration('8760h'))",message="nextResponse must be positive and at most 8760h (a year)"
	// +optional
	NextResponse *metav1.Duration `json:"nextResponse,omitempty"`
	// Resolution is the time to solve the ticket.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:Pattern=`^([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="!self.matches('^([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+$') || (duration(self) > duration('0s') && duration(self) <= duration('8760h'))",message="resolution must be positive and at most 8760h (a year)"
	// +optional
	Resolution *metav1.Duration `json:"resolution,omitempty"`
	// BusinessHours counts on the policy's calendar when true (the default)
	// and around the clock when false.
	// +optional
	BusinessHours *bool `json:"businessHours,omitempty"`
}

// BreachActionType is what a breach does.
// +kubebuilder:validation:Enum=notify;reassign;raisePriority;webhook
type BreachActionType string

// The breach actions.
const (
	BreachNotify        BreachActionType = "notify"
	BreachReassign      BreachActionType = "reassign"
	BreachRaisePriority BreachActionType = "raisePriority"
	BreachWebhook       BreachActionType = "webhook"
)

// Recipient is whom a notify action tells.
// +kubebuilder:validation:Enum=assignee;group;supervisor
type Recipient string

// BreachAction is one thing to do when a target is breached.
// +kubebuilder:validation:XValidation:rule="self.type != 'notify' || (has(self.recipients) && size(self.recipients) > 0)",message="notify needs recipients; accepted: assignee, group, supervisor",fieldPath=".recipients",reason=FieldValueRequired
// +kubebuilder:validation:XValidation:rule="self.type != 'reassign' || (has(self.group) && size(self.group) > 0)",message="reassign needs the group to move the ticket to",fieldPath=".group",reason=FieldValueRequired
// +kubebuilder:validation:XValidation:rule="self.type != 'webhook' || (has(self.url) && self.url.startsWith('https://') && isURL(self.url))",message="webhook needs an https:// url",fieldPath=".url"
type BreachAction struct {
	// Type of the action.
	Type BreachActionType `json:"type"`
	// Recipients of a notify action.
	// +listType=set
	// +kubebuilder:validation:MaxItems=3
	// +optional
	Recipients []Recipient `json:"recipients,omitempty"`
	// Group a reassign action moves the ticket to.
	// +kubebuilder:validation:MaxLength=200
	// +optional
	Group string `json:"group,omitempty"`
	// URL a webhook action posts the breach to.
	// +kubebuilder:validation:MaxLength=2048
	// +optional
	URL string `json:"url,omitempty"`
}

// SLAPolicyStatus reports whether the policy was accepted and is in force.
type SLAPolicyStatus struct {
	// ObservedGeneration is the generation the conditions describe.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Conditions: Accepted (valid and its tenant exists), Applied (the
	// tenant runs a configuration that includes it).
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// SLAPolicy is a set of SLA targets for a tenant's tickets.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=slap,categories=kubedesk
// +kubebuilder:printcolumn:name="Tenant",type=string,JSONPath=`.spec.tenantRef.name`
// +kubebuilder:printcolumn:name="Accepted",type=string,JSONPath=`.status.conditions[?(@.type=="Accepted")].status`
// +kubebuilder:printcolumn:name="Applied",type=string,JSONPath=`.status.conditions[?(@.type=="Applied")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type SLAPolicy struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   SLAPolicySpec   `json:"spec"`
	Status SLAPolicyStatus `json:"status,omitempty"`
}

// SLAPolicyList is a list of SLAPolicy.
//
// +kubebuilder:object:root=true
type SLAPolicyList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []SLAPolicy `json:"items"`
}
