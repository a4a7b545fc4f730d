package tenant

import (
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubedesk/kubedesk/operator/api/v1alpha1"
	"github.com/kubedesk/kubedesk/operator/internal/controller/condition"
)

// running is one enabled component's Deployment as last written or seen.
type running struct {
	name    v1alpha1.ComponentName
	desired int32
	// deployment is nil when the API server refused it.
	deployment *appsv1.Deployment
}

// rollout is what a component's Deployment says about its pods.
type rollout struct {
	status v1alpha1.ComponentStatus
	// progress says what the rollout waits for; "" when every replica
	// runs the current configuration and no old one is left.
	progress string
	// problem says what is wrong although waiting will not fix it; "" when
	// nothing is.
	problem string
	// refused: the component has no Deployment to run a configuration.
	refused bool
}

// observe reads a component's rollout towards the configuration hash.
// Replicas count as updated only once the Deployment controller has seen
// the current template, which carries the hash.
func observe(c running, hash string) rollout {
	d := c.deployment
	if d == nil {
		return rollout{
			status:  v1alpha1.ComponentStatus{Name: c.name, DesiredReplicas: c.desired},
			problem: fmt.Sprintf("%s: no Deployment, the API server refused it (see Degraded)", c.name),
			refused: true,
		}
	}
	seen := d.Status.ObservedGeneration >= d.Generation
	updated := d.Status.UpdatedReplicas
	if !seen || d.Spec.Template.Annotations[ConfigHashAnnotation] != hash {
		updated = 0
	}
	r := rollout{status: v1alpha1.ComponentStatus{
		Name: c.name, DesiredReplicas: c.desired, ReadyReplicas: d.Status.ReadyReplicas, UpdatedReplicas: updated,
	}}
	switch {
	case !seen:
		r.progress = fmt.Sprintf("%s: waiting for the Deployment controller to observe generation %d", c.name, d.Generation)
	case updated < c.desired:
		r.progress = fmt.Sprintf("%s: %d of %d replicas updated", c.name, updated, c.desired)
	case d.Status.Replicas > updated:
		r.progress = fmt.Sprintf("%s: %d old %s terminating", c.name, d.Status.Replicas-updated, plural(d.Status.Replicas-updated, "replica"))
	case d.Status.ReadyReplicas < c.desired:
		r.problem = fmt.Sprintf("%s: %d of %d replicas ready", c.name, d.Status.ReadyReplicas, c.desired)
	}
	for _, cond := range d.Status.Conditions {
		if cond.Type == appsv1.DeploymentProgressing && cond.Status == corev1.ConditionFalse && cond.Reason == "ProgressDeadlineExceeded" {
			r.problem = fmt.Sprintf("%s: rollout stalled: %s", c.name, cond.Message)
		}
	}
	return r
}

// setStatus writes the tenant's status from its components' rollouts, the
// configuration rendered and the configuration problems found.
func setStatus(t *v1alpha1.HelpdeskTenant, cfg rendered, components []running, configProblems []string) {
	st := &t.Status
	st.ObservedGeneration = t.Generation
	st.GatewayURL = gatewayURL(t)
	st.Components = nil
	var progress, problems []string
	ready, refused := 0, false
	for _, c := range components {
		r := observe(c, cfg.hash)
		refused = refused || r.refused
		st.Components = append(st.Components, r.status)
		if r.progress != "" {
			progress = append(progress, r.progress)
		}
		if r.problem != "" {
			problems = append(problems, r.problem)
		}
		if r.progress == "" && !r.refused && r.status.ReadyReplicas >= c.desired {
			ready++
		}
	}
	st.ComponentsReady = fmt.Sprintf("%d/%d", ready, len(components))
	if len(progress) == 0 && !refused {
		// Every pod runs this configuration: it is the one applied.
		st.ConfigHash = cfg.hash
		st.AppliedPolicies = nil
		if len(cfg.policies) > 0 {
			st.AppliedPolicies = cfg.policies
		}
		st.AppliedRoutingRules = nil
		if len(cfg.rules) > 0 {
			st.AppliedRoutingRules = cfg.rules
		}
	}

	set := func(typ string, status metav1.ConditionStatus, reason, msg string) {
		condition.Set(&st.Conditions, t.Generation, typ, status, reason, msg)
	}
	rolling, missing := strings.Join(progress, "; "), strings.Join(problems, "; ")
	switch {
	case rolling != "":
		set(v1alpha1.ConditionProgressing, metav1.ConditionTrue, v1alpha1.ReasonRolling, rolling)
		set(v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonRolling, rolling)
	case missing != "":
		set(v1alpha1.ConditionProgressing, metav1.ConditionFalse, v1alpha1.ReasonReplicasMissing,
			fmt.Sprintf("every component runs configuration %s, but replicas are missing", short(cfg.hash)))
		set(v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonReplicasMissing, missing)
	default:
		set(v1alpha1.ConditionProgressing, metav1.ConditionFalse, v1alpha1.ReasonAvailable,
			fmt.Sprintf("every component runs configuration %s", short(cfg.hash)))
		set(v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonAvailable,
			fmt.Sprintf("%d of %d components have all their replicas ready", ready, len(components)))
	}
	switch {
	case len(configProblems) > 0:
		set(v1alpha1.ConditionDegraded, metav1.ConditionTrue, v1alpha1.ReasonConfigError, strings.Join(configProblems, "; "))
	case missing != "":
		set(v1alpha1.ConditionDegraded, metav1.ConditionTrue, v1alpha1.ReasonReplicasMissing, missing)
	case rolling != "":
		set(v1alpha1.ConditionDegraded, metav1.ConditionFalse, v1alpha1.ReasonRolling, "nothing is failing; a rollout is under way")
	default:
		set(v1alpha1.ConditionDegraded, metav1.ConditionFalse, v1alpha1.ReasonAvailable, "nothing is failing")
	}
}

// setConfigError reports problems that stopped the reconcile before the
// Deployments: only Degraded changes, the rest still describes what runs.
func setConfigError(t *v1alpha1.HelpdeskTenant, problems []string) {
	t.Status.ObservedGeneration = t.Generation
	condition.Set(&t.Status.Conditions, t.Generation, v1alpha1.ConditionDegraded, metav1.ConditionTrue, v1alpha1.ReasonConfigError,
		strings.Join(problems, "; "))
}

func plural(n int32, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

// short abbreviates a configuration hash for messages.
func short(hash string) string {
	if len(hash) > 12 {
		return hash[:12]
	}
	return hash
}
