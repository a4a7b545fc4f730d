package v1alpha1

// Condition types. Controllers set them with meta.SetStatusCondition and
// the generation they observed.
const (
	// ConditionReady (HelpdeskTenant) is True when every enabled component
	// has all its replicas available and running the current configuration.
	ConditionReady = "Ready"
	// ConditionProgressing (HelpdeskTenant) is True while a change rolls
	// out: replicas are being created, updated or removed.
	ConditionProgressing = "Progressing"
	// ConditionDegraded (HelpdeskTenant) is True when something keeps the
	// tenant from running as specified and waiting will not fix it, such as
	// a missing Secret or a configuration that does not render.
	ConditionDegraded = "Degraded"
	// ConditionAttachmentsShared (HelpdeskTenant on PostgreSQL, with the
	// ticket component) is True when every ticket replica keeps
	// attachments in one store that outlives its pods: spec.attachments
	// names an S3 bucket or a ReadWriteMany claim. False says what to set.
	// A tenant on the embedded database (one replica, attachments on its
	// data claim) has no such condition.
	ConditionAttachmentsShared = "AttachmentsShared"

	// ConditionAccepted (SLAPolicy, RoutingRule) is True when the policy
	// or rule is valid and names a tenant that exists.
	ConditionAccepted = "Accepted"
	// ConditionApplied (SLAPolicy, RoutingRule) is True when the tenant's
	// pods run a configuration that includes the object's current
	// generation.
	ConditionApplied = "Applied"
)

// Condition reasons, in UpperCamelCase as metav1.Condition requires.
const (
	// ReasonAccepted: the policy or rule is valid and its tenant exists.
	ReasonAccepted = "Accepted"
	// ReasonInvalid: the object passed the schema but does not compile
	// (the message names the field, the value and what is accepted).
	ReasonInvalid = "Invalid"
	// ReasonTenantNotFound: the policy's tenantRef names no HelpdeskTenant
	// in its namespace.
	ReasonTenantNotFound = "TenantNotFound"
	// ReasonPending: accepted, but the tenant's pods do not run it yet.
	ReasonPending = "Pending"
	// ReasonApplied: the tenant's pods run a configuration with the policy.
	ReasonApplied = "Applied"
	// ReasonRolling: Deployments are rolling out a change.
	ReasonRolling = "Rolling"
	// ReasonAvailable: every enabled component is available.
	ReasonAvailable = "Available"
	// ReasonReplicasMissing: some replicas are not ready although the
	// rollout is complete (crash loop, unschedulable pods, ...).
	ReasonReplicasMissing = "ReplicasMissing"
	// ReasonRoutingDisabled: the rule is valid, but its tenant does not
	// run the routing component (spec.components.routing.enabled: false),
	// so no configuration carries it.
	ReasonRoutingDisabled = "RoutingDisabled"
	// ReasonConfigError: the tenant's configuration cannot be rendered, e.g.
	// a referenced Secret or key is missing.
	ReasonConfigError = "ConfigError"

	// AttachmentsShared reasons.

	// ReasonObjectStorage: attachments are in the S3-compatible bucket of
	// spec.attachments.s3.
	ReasonObjectStorage = "ObjectStorage"
	// ReasonVolume: attachments are on the ReadWriteMany claim of
	// spec.attachments.volume.
	ReasonVolume = "Volume"
	// ReasonEmptyDir: spec.attachments is unset, so each ticket pod keeps
	// attachments in its emptyDir: lost with the pod, unseen by the other
	// replicas.
	ReasonEmptyDir = "EmptyDir"
	// ReasonClaimNotShared: the claim of spec.attachments.volume is not
	// ReadWriteMany: ticket pods on other nodes cannot mount it.
	ReasonClaimNotShared = "ClaimNotShared"
	// ReasonClaimNotFound: the claim of spec.attachments.volume does not
	// exist.
	ReasonClaimNotFound = "ClaimNotFound"
)
