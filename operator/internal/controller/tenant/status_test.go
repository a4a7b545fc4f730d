package tenant

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubedesk/kubedesk/operator/api/v1alpha1"
)

func TestSetStatus(t *testing.T) {
	const hash, old = "new-hash", "old-hash"
	dep := func(generation, observed int64, onHash string, replicas, updated, ready int32) *appsv1.Deployment {
		d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Generation: generation}}
		d.Spec.Template.Annotations = map[string]string{ConfigHashAnnotation: onHash}
		d.Status = appsv1.DeploymentStatus{ObservedGeneration: observed, Replicas: replicas, UpdatedReplicas: updated, ReadyReplicas: ready}
		return d
	}
	stalled := dep(2, 2, hash, 2, 1, 1)
	stalled.Status.Conditions = []appsv1.DeploymentCondition{{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionFalse,
		Reason: "ProgressDeadlineExceeded", Message: `ReplicaSet "x" has timed out progressing.`}}
	type cond struct {
		status metav1.ConditionStatus
		reason string
		msg    string
	}
	tests := []struct {
		name       string
		ticket     *appsv1.Deployment
		problems   []string
		ready      string
		configHash string // old: unchanged
		want       map[string]cond
	}{
		{name: "all ready", ticket: dep(2, 2, hash, 2, 2, 2), ready: "2/2", configHash: hash, want: map[string]cond{
			v1alpha1.ConditionReady:       {metav1.ConditionTrue, v1alpha1.ReasonAvailable, "2 of 2 components"},
			v1alpha1.ConditionProgressing: {metav1.ConditionFalse, v1alpha1.ReasonAvailable, "every component runs configuration new-hash"},
			v1alpha1.ConditionDegraded:    {metav1.ConditionFalse, v1alpha1.ReasonAvailable, "nothing is failing"},
		}},
		{name: "not observed yet", ticket: dep(3, 2, hash, 2, 2, 2), ready: "1/2", configHash: old, want: map[string]cond{
			v1alpha1.ConditionProgressing: {metav1.ConditionTrue, v1alpha1.ReasonRolling, "ticket: waiting for the Deployment controller to observe generation 3"},
			v1alpha1.ConditionReady:       {metav1.ConditionFalse, v1alpha1.ReasonRolling, "ticket: waiting"},
			v1alpha1.ConditionDegraded:    {metav1.ConditionFalse, v1alpha1.ReasonRolling, ""},
		}},
		{name: "half updated", ticket: dep(2, 2, hash, 2, 1, 2), ready: "1/2", configHash: old, want: map[string]cond{
			v1alpha1.ConditionProgressing: {metav1.ConditionTrue, v1alpha1.ReasonRolling, "ticket: 1 of 2 replicas updated"},
		}},
		{name: "old template", ticket: dep(2, 2, old, 2, 2, 2), ready: "1/2", configHash: old, want: map[string]cond{
			v1alpha1.ConditionProgressing: {metav1.ConditionTrue, v1alpha1.ReasonRolling, "ticket: 0 of 2 replicas updated"},
		}},
		{name: "old replica terminating", ticket: dep(2, 2, hash, 3, 2, 2), ready: "1/2", configHash: old, want: map[string]cond{
			v1alpha1.ConditionProgressing: {metav1.ConditionTrue, v1alpha1.ReasonRolling, "ticket: 1 old replica terminating"},
		}},
		{name: "replicas missing", ticket: dep(2, 2, hash, 2, 2, 1), ready: "1/2", configHash: hash, want: map[string]cond{
			v1alpha1.ConditionDegraded:    {metav1.ConditionTrue, v1alpha1.ReasonReplicasMissing, "ticket: 1 of 2 replicas ready"},
			v1alpha1.ConditionReady:       {metav1.ConditionFalse, v1alpha1.ReasonReplicasMissing, "ticket: 1 of 2 replicas ready"},
			v1alpha1.ConditionProgressing: {metav1.ConditionFalse, v1alpha1.ReasonReplicasMissing, ""},
		}},
		{name: "stalled rollout", ticket: stalled, ready: "1/2", configHash: old, want: map[string]cond{
			v1alpha1.ConditionDegraded: {metav1.ConditionTrue, v1alpha1.ReasonReplicasMissing, `ticket: rollout stalled: ReplicaSet "x" has timed out`},
		}},
		{name: "refused Deployment", ticket: nil, problems: []string{"Deployment x is invalid"}, ready: "1/2", configHash: old, want: map[string]cond{
			v1alpha1.ConditionDegraded: {metav1.ConditionTrue, v1alpha1.ReasonConfigError, "Deployment x is invalid"},
			v1alpha1.ConditionReady:    {metav1.ConditionFalse, v1alpha1.ReasonReplicasMissing, "ticket: no Deployment"},
		}},
		{name: "config error wins", ticket: dep(2, 2, hash, 2, 2, 1), problems: []string{"Secret missing", "calendar bad"}, ready: "1/2", configHash: hash, want: map[string]cond{
			v1alpha1.ConditionDegraded: {metav1.ConditionTrue, v1alpha1.ReasonConfigError, "Secret missing; calendar bad"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ht := &v1alpha1.HelpdeskTenant{ObjectMeta: metav1.ObjectMeta{Name: "acme", Namespace: "ns", Generation: 7}}
			ht.Status.ConfigHash = old
			components := []running{
				{name: v1alpha1.ComponentGateway, desired: 1, deployment: dep(1, 1, hash, 1, 1, 1)},
				{name: v1alpha1.ComponentTicket, desired: 2, deployment: tt.ticket},
			}
			cfg := rendered{hash: hash, policies: []v1alpha1.AppliedPolicy{{Name: "p", Generation: 4}}}
			setStatus(ht, cfg, components, tt.problems)
			st := ht.Status
			if st.ObservedGeneration != 7 || st.ComponentsReady != tt.ready || st.ConfigHash != tt.configHash {
				t.Errorf("observedGeneration %d, componentsReady %q, configHash %q; want 7, %q, %q",
					st.ObservedGeneration, st.ComponentsReady, st.ConfigHash, tt.ready, tt.configHash)
			}
			if applied := len(st.AppliedPolicies) == 1; applied != (tt.configHash == hash) {
				t.Errorf("appliedPolicies %v with configHash %q", st.AppliedPolicies, st.ConfigHash)
			}
			for typ, want := range tt.want {
				c := meta.FindStatusCondition(st.Conditions, typ)
				if c == nil || c.Status != want.status || c.Reason != want.reason || !strings.Contains(c.Message, want.msg) || c.ObservedGeneration != 7 {
					t.Errorf("%s = %+v, want %s/%s containing %q at generation 7", typ, c, want.status, want.reason, want.msg)
				}
			}
			if len(st.Components) != 2 || st.Components[1].Name != v1alpha1.ComponentTicket || st.Components[1].DesiredReplicas != 2 {
				t.Errorf("components %+v", st.Components)
			}
		})
	}
}
