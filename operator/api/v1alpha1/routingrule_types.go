package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// RoutingRuleSpec is one rule of a tenant's routing: which tickets it
// matches and what it does to them. A tenant's rules are tried in order
// (spec.order, then name); the first that matches wins, unless it says
// continue, in which case the next matching rule applies too (later
// actions add to earlier ones; a later group replaces an earlier one).
type RoutingRuleSpec struct {
	// TenantRef names the HelpdeskTenant the rule belongs to (in the
	// all-in-one binary: the tenant ID).
	TenantRef LocalObjectReference `json:"tenantRef"`

	// Order places the rule among its tenant's rules: lower first, equal
	// orders by name. 0 is the unset value, which reads as 100.
	// +kubebuilder:default=100
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100000
	// +optional
	Order int32 `json:"order,omitempty"`

	// Continue goes on to the next matching rule after this one matched,
	// so that rules stack (a rule that only adds a tag, then one that
	// picks the group).
	// +optional
	Continue bool `json:"continue,omitempty"`

	// When says which tickets the rule matches: every condition given
	// must hold (AND); a list holds when any of its items does (OR).
	// Empty matches every ticket.
	// +optional
	When RoutingConditions `json:"when,omitempty"`

	// Then is what the rule does to a ticket it matches.
	Then RoutingActions `json:"then"`
}

// DefaultRoutingRuleOrder is the order of a rule that sets none.
const DefaultRoutingRuleOrder int32 = 100

// CustomFieldKeyPattern is what a custom field's name looks like: the
// ticket API's pattern for the keys of custom_fields, which the CRD's
// rules on customFields and setCustomFields repeat.
const CustomFieldKeyPattern = `^[A-Za-z][A-Za-z0-9_.-]{0,62}$`

// RoutingConditions are the tests of a rule; each one given must hold.
//
// +kubebuilder:validation:XValidation:rule="has(self.businessHours) || !has(self.calendar) || (!has(self.calendar.workingHours) && !has(self.calendar.holidays) && !has(self.calendar.extraWorkingDays))",message="calendar is read only by businessHours; set businessHours: true or false, or leave calendar out",fieldPath=".calendar"
type RoutingConditions struct {
	// Channels the ticket came in on.
	// +listType=set
	// +kubebuilder:validation:MaxItems=6
	// +optional
	Channels []Channel `json:"channels,omitempty"`
	// CustomerTiers: the requester's contact's tier (or its
	// organisation's), e.g. VIP; compared case-insensitively.
	// +kubebuilder:validation:MaxItems=20
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=64
	// +optional
	CustomerTiers []string `json:"customerTiers,omitempty"`
	// Organizations: the requester's organisation, by ID or by name
	// (names compared case-insensitively).
	// +kubebuilder:validation:MaxItems=100
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=200
	// +optional
	Organizations []string `json:"organizations,omitempty"`
	// Priorities of the ticket.
	// +listType=set
	// +kubebuilder:validation:MaxItems=5
	// +optional
	Priorities []Priority `json:"priorities,omitempty"`
	// Tags: the ticket has at least one of them (compared exactly).
	// +kubebuilder:validation:MaxItems=50
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=100
	// +optional
	Tags []string `json:"tags,omitempty"`
	// CustomFields: for each field named, the ticket's value is one of
	// those listed, compared exactly ("" for a field the ticket does not
	// have).
	// +kubebuilder:validation:MaxProperties=20
	// +kubebuilder:validation:XValidation:rule="self.all(k, k.matches('^[A-Za-z][A-Za-z0-9_.-]{0,62}$'))",messageExpression="'custom field name ' + self.filter(k, !k.matches('^[A-Za-z][A-Za-z0-9_.-]{0,62}$'))[0] + ' is not accepted; a name is a letter, then up to 62 letters, digits, _ . or -'"
	// +optional
	CustomFields map[string][]string `json:"customFields,omitempty"`
	// Requesters: the requester's e-mail address (ignoring case),
	// "*@example.com" for every address of a domain, a channel identity
	// such as "wechat:oAbc..." (compared exactly), or "contact:<ID>" for
	// a contact of the channel service.
	// +kubebuilder:validation:MaxItems=200
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=254
	// +optional
	Requesters []string `json:"requesters,omitempty"`
	// Keywords: the subject or the description contains one of them. A
	// keyword in Latin script matches whole words, ignoring case (so
	// "VPN" matches "vpn down" and "VPN断线" but not "vpns"); one with
	// Chinese, Japanese or Korean characters matches anywhere in the
	// text. Full-width letters and digits count as their ASCII forms; a
	// space matches any run of white space, and next to a CJK character
	// none ("VPN 断线" matches "VPN断线").
	// +kubebuilder:validation:MaxItems=200
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=100
	// +optional
	Keywords []string `json:"keywords,omitempty"`
	// InboundAddresses: the address the customer wrote to (the mailbox of
	// an e-mail ticket), compared case-insensitively.
	// +kubebuilder:validation:MaxItems=50
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=254
	// +optional
	InboundAddresses []string `json:"inboundAddresses,omitempty"`
	// BusinessHours: true matches tickets created inside the calendar's
	// working hours, false those created outside them (for a ticket
	// whose creation time is unknown: the time it is routed).
	// +optional
	BusinessHours *bool `json:"businessHours,omitempty"`
	// Calendar is the business calendar businessHours reads, of the same
	// shape and rules as an SLAPolicy's (no working hours: open around
	// the clock). Empty means the tenant's calendar (the HelpdeskTenant's
	// spec.calendar), else Monday to Friday, 09:00 to 18:00 in the
	// tenant's time zone. Without businessHours it is not read.
	// +optional
	Calendar BusinessCalendar `json:"calendar,omitempty"`
}

// RoutingActions are what a matching rule does.
//
// +kubebuilder:validation:XValidation:rule="has(self.group) || (has(self.requireSkills) && size(self.requireSkills) > 0) || (has(self.addTags) && size(self.addTags) > 0) || has(self.priorityAtLeast) || (has(self.setCustomFields) && size(self.setCustomFields) > 0)",message="set at least one action: group, requireSkills, addTags, priorityAtLeast or setCustomFields"
type RoutingActions struct {
	// Group moves the ticket to this routing group (its ID, a DNS label
	// such as billing), which then picks the agent by its strategy. The
	// group must exist in the routing service when the rules are loaded.
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +optional
	Group string `json:"group,omitempty"`
	// RequireSkills: only agents with each of these skills, at least at
	// the level given, may take the ticket; each skill once. Each must
	// be a skill some agent of the tenant has when the rules are loaded;
	// when several matching rules require one skill, the highest level
	// counts.
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=10
	// +optional
	RequireSkills []SkillRequirement `json:"requireSkills,omitempty"`
	// AddTags adds these tags to the ticket.
	// +kubebuilder:validation:MaxItems=20
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=100
	// +optional
	AddTags []string `json:"addTags,omitempty"`
	// PriorityAtLeast raises the ticket's priority to this one when it is
	// lower (P4 to P2); a higher priority stays.
	// +optional
	PriorityAtLeast Priority `json:"priorityAtLeast,omitempty"`
	// SetCustomFields sets these custom fields on the ticket.
	// +kubebuilder:validation:MaxProperties=20
	// +kubebuilder:validation:XValidation:rule="self.all(k, k.matches('^[A-Za-z][A-Za-z0-9_.-]{0,62}$'))",messageExpression="'custom field name ' + self.filter(k, !k.matches('^[A-Za-z][A-Za-z0-9_.-]{0,62}$'))[0] + ' is not accepted; a name is a letter, then up to 62 letters, digits, _ . or -'"
	// +kubebuilder:validation:XValidation:rule="self.all(k, size(self[k]) <= 4096)",message="a custom field's value is at most 4096 characters"
	// +optional
	SetCustomFields map[string]string `json:"setCustomFields,omitempty"`
}

// SkillRequirement is a skill an agent must have, at a level.
type SkillRequirement struct {
	// Name of the skill, e.g. billing, zh, network.
	// +kubebuilder:validation:Pattern=`^[a-z][a-z0-9_-]{0,39}$`
	Name string `json:"name"`
	// MinLevel is the lowest level (1 to 5) that will do; 0 reads as 1.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=5
	// +optional
	MinLevel int32 `json:"minLevel,omitempty"`
}

// RoutingRuleStatus reports whether the rule was taken.
type RoutingRuleStatus struct {
	// ObservedGeneration is the generation the conditions describe.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Conditions: Accepted (the spec is valid and names an existing
	// tenant) and Applied (the tenant's pods run a configuration that
	// holds the rule's current generation).
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=rr,categories=kubedesk
// +kubebuilder:printcolumn:name="Tenant",type=string,JSONPath=`.spec.tenantRef.name`
// +kubebuilder:printcolumn:name="Order",type=integer,JSONPath=`.spec.order`
// +kubebuilder:printcolumn:name="Group",type=string,JSONPath=`.spec.then.group`
// +kubebuilder:printcolumn:name="Accepted",type=string,JSONPath=`.status.conditions[?(@.type=="Accepted")].status`
// +kubebuilder:printcolumn:name="Applied",type=string,JSONPath=`.status.conditions[?(@.type=="Applied")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// RoutingRule is one rule that routes a tenant's tickets to a group.
type RoutingRule struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   RoutingRuleSpec   `json:"spec"`
	Status RoutingRuleStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// RoutingRuleList is a list of RoutingRules.
type RoutingRuleList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []RoutingRule `json:"items"`
}
