// Package tenant reconciles HelpdeskTenants into what runs a tenant's help
// desk: a ConfigMap with the rendered configuration (the tenant's settings,
// its accepted SLA policies and routing rules), and per enabled component
// a Deployment and a Service, a PersistentVolumeClaim for the components
// that keep embedded data, and an Ingress to the gateway. Everything is
// server-side applied with FieldOwner, so the reconcile is level-based: it
// writes the whole desired state each time, takes back fields someone
// changed by hand and deletes what the spec no longer asks for.
package tenant

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	networkingv1ac "k8s.io/client-go/applyconfigurations/networking/v1"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/kubedesk/kubedesk/operator/api/mailtemplate"
	"github.com/kubedesk/kubedesk/operator/api/v1alpha1"
	"github.com/kubedesk/kubedesk/operator/internal/controller/routingrule"
	"github.com/kubedesk/kubedesk/operator/internal/controller/slapolicy"
)

// SecretIndex indexes HelpdeskTenants by the Secret holding their
// database URL, so a Secret's change finds the tenants it concerns.
const SecretIndex = "spec.database.postgres.urlSecretRef.name"

// RelaySecretIndex indexes HelpdeskTenants by the Secret holding their
// SMTP relay URL, so that its change restarts the channel's pods.
const RelaySecretIndex = "spec.channels.email.relaySecretRef.name"

// BlobSecretIndex indexes HelpdeskTenants by the Secret holding their
// attachments' S3 URL, so that its change restarts the ticket's pods.
const BlobSecretIndex = "spec.attachments.s3.urlSecretRef.name"

// WeChatSecretIndex indexes HelpdeskTenants by the Secrets holding the
// secrets of their WeChat account (appSecret, token, encodingAESKey: one
// Secret or several), so that a change restarts the channel's pods.
const WeChatSecretIndex = "spec.channels.wechat.secretKeyRef.name"

// secretIndexes are the indexes of HelpdeskTenants by a Secret they name,
// each with the names it reads from a tenant.
var secretIndexes = []struct {
	name    string
	secrets func(*v1alpha1.HelpdeskTenant) []string
}{
	{SecretIndex, func(t *v1alpha1.HelpdeskTenant) []string {
		if pg := t.Spec.Database.Postgres; pg != nil {
			return []string{pg.URLSecretRef.Name}
		}
		return nil
	}},
	{RelaySecretIndex, func(t *v1alpha1.HelpdeskTenant) []string {
		if ref := t.Spec.Channels.Email.RelaySecretRef; ref != nil {
			return []string{ref.Name}
		}
		return nil
	}},
	{BlobSecretIndex, func(t *v1alpha1.HelpdeskTenant) []string {
		if a := t.Spec.Attachments; a != nil && a.S3 != nil {
			return []string{a.S3.URLSecretRef.Name}
		}
		return nil
	}},
	{WeChatSecretIndex, wechatSecretNames},
}

// AddIndexes registers the field indexes this package's List calls use.
func AddIndexes(ctx context.Context, mgr ctrl.Manager) error {
	for _, index := range secretIndexes {
		err := mgr.GetFieldIndexer().IndexField(ctx, &v1alpha1.HelpdeskTenant{}, index.name, func(o client.Object) []string {
			return index.secrets(o.(*v1alpha1.HelpdeskTenant))
		})
		if err != nil {
			return fmt.Errorf("index HelpdeskTenant %s: %w", index.name, err)
		}
	}
	return nil
}

// maxConfigBytes is the most a ConfigMap's keys and values may hold (1 MiB).
const maxConfigBytes = 1 << 20

// Reconciler runs HelpdeskTenants.
type Reconciler struct {
	// Client reads from the manager's cache and writes to the API server.
	Client client.Client
	// APIReader reads Secrets: the cache holds only their metadata (it
	// need not hold every Secret's data to see one change).
	APIReader client.Reader
	// Recorder records what the reconciler changed, on the tenant.
	Recorder events.EventRecorder
	// MaxConcurrentReconciles bounds the parallel reconciles (default 1).
	MaxConcurrentReconciles int
}

// +kubebuilder:rbac:groups=kubedesk.io,resources=helpdesktenants,verbs=get;list;watch
// +kubebuilder:rbac:groups=kubedesk.io,resources=helpdesktenants/status,verbs=patch
// +kubebuilder:rbac:groups=kubedesk.io,resources=helpdesktenants/finalizers,verbs=update
// +kubebuilder:rbac:groups=kubedesk.io,resources=slapolicies,verbs=get;list;watch
// +kubebuilder:rbac:groups=kubedesk.io,resources=routingrules,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=configmaps;services,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=apps,resources=deployments,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=networking.k8s.io,resources=ingresses,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups="",resources=persistentvolumeclaims,verbs=get;list;watch;create;patch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;create;patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// SetupWithManager watches tenants (spec changes), the objects they own
// (any change, so drift is put back and Deployment status reaches the
// tenant's), their data claims, their SLA policies and routing rules and
// the Secrets they name or own (metadata only). AddIndexes,
// slapolicy.AddIndexes and routingrule.AddIndexes must have run.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named("helpdesktenant").
		For(&v1alpha1.HelpdeskTenant{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Owns(&appsv1.Deployment{}).
		Owns(&corev1.Service{}).
		Owns(&corev1.ConfigMap{}).
		Owns(&networkingv1.Ingress{}).
		Watches(&corev1.PersistentVolumeClaim{}, handler.EnqueueRequestsFromMapFunc(tenantOfClaim)).
		Watches(&v1alpha1.SLAPolicy{}, handler.EnqueueRequestsFromMapFunc(tenantOfPolicy),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&v1alpha1.RoutingRule{}, handler.EnqueueRequestsFromMapFunc(tenantOfRule),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		WatchesMetadata(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.tenantsOfSecret)).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(r.MaxConcurrentReconciles, 1)}).
		Complete(r)
}

// tenantOfPolicy maps a policy to its tenant. On an update the handler
// maps the old object too, so a policy moved to another tenant leaves the
// first one's configuration.
func tenantOfPolicy(_ context.Context, o client.Object) []reconcile.Request {
	p := o.(*v1alpha1.SLAPolicy)
	return []reconcile.Request{{NamespacedName: client.ObjectKey{Namespace: p.Namespace, Name: p.Spec.TenantRef.Name}}}
}

// tenantOfRule maps a routing rule to its tenant; like tenantOfPolicy,
// a rule moved to another tenant leaves the first one's configuration.
func tenantOfRule(_ context.Context, o client.Object) []reconcile.Request {
	r := o.(*v1alpha1.RoutingRule)
	return []reconcile.Request{{NamespacedName: client.ObjectKey{Namespace: r.Namespace, Name: r.Spec.TenantRef.Name}}}
}

// tenantOfClaim maps a data claim the operator made to its tenant (claims
// carry no owner reference; see claim).
func tenantOfClaim(_ context.Context, o client.Object) []reconcile.Request {
	l := o.GetLabels()
	if l[LabelManagedBy] != FieldOwner || l[LabelInstance] == "" {
		return nil
	}
	return []reconcile.Request{{NamespacedName: client.ObjectKey{Namespace: o.GetNamespace(), Name: l[LabelInstance]}}}
}

// tenantsOfSecret maps a Secret to the tenants whose database, SMTP relay,
// attachments' URL or WeChat account's secrets it holds, and a
// credentials Secret to its tenant (by name: one made beforehand has no
// owner reference), so that one deleted is made again and the pods
// restart on changed credentials.
func (r *Reconciler) tenantsOfSecret(ctx context.Context, o client.Object) []reconcile.Request {
	var reqs []reconcile.Request
	if name, ok := strings.CutSuffix(o.GetName(), credentialsSuffix); ok && name != "" {
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKey{Namespace: o.GetNamespace(), Name: name}})
	}
	for _, index := range secretIndexes {
		var list v1alpha1.HelpdeskTenantList
		if err := r.Client.List(ctx, &list, client.InNamespace(o.GetNamespace()), client.MatchingFields{index.name: o.GetName()}); err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "listing the tenants of a Secret", "secret", client.ObjectKeyFromObject(o), "index", index.name)
			continue
		}
		for _, t := range list.Items {
			req := reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&t)}
			if !slices.Contains(reqs, req) {
				reqs = append(reqs, req)
			}
		}
	}
	return reqs
}

// Reconcile applies the tenant's objects and writes its status; the
// status is patched once, at the end.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (_ ctrl.Result, retErr error) {
	var t v1alpha1.HelpdeskTenant
	if err := r.Client.Get(ctx, req.NamespacedName, &t); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !t.DeletionTimestamp.IsZero() {
		// The garbage collector deletes what the tenant owns.
		return ctrl.Result{}, nil
	}
	before := t.DeepCopy()
	defer func() {
		if equality.Semantic.DeepEqual(before.Status, t.Status) {
			return
		}
		if err := r.Client.Status().Patch(ctx, &t, client.MergeFrom(before), client.FieldOwner(FieldOwner)); err != nil {
			retErr = errors.Join(retErr, fmt.Errorf("patch the status of HelpdeskTenant %s: %w", req.NamespacedName, client.IgnoreNotFound(err)))
		}
	}()
	return ctrl.Result{}, r.reconcile(ctx, &t)
}

func (r *Reconciler) reconcile(ctx context.Context, t *v1alpha1.HelpdeskTenant) error {
	// Problems the spec must fix (Degraded/ConfigError); the rest is still
	// applied, so what can run does.
	var problems []string
	p, err := r.checkDatabaseSecret(ctx, t)
	if err != nil {
		return err
	}
	problems = append(problems, p...)
	relay, p, err := r.relaySecret(ctx, t)
	if err != nil {
		return err
	}
	problems = append(problems, p...)
	store, p, err := r.attachments(ctx, t)
	if err != nil {
		return err
	}
	problems = append(problems, p...)
	wechat, p, err := r.wechatKeys(ctx, t)
	if err != nil {
		return err
	}
	problems = append(problems, p...)
	// Before the Deployments, whose pods cannot start without it.
	creds, err := r.ensureCredentials(ctx, t)
	if err != nil {
		return err
	}
	t.Status.AdminKeySecret = CredentialsSecretName(t)
	if err := slapolicy.ValidateCalendar(t.Spec.Calendar); err != nil {
		problems = append(problems, err.Error())
	}

	// The pods refuse a configuration whose mail templates do not parse
	// or name placeholders that do not exist, and a WeChat secret given
	// other than by secretKeyRef has no place in the ConfigMap: the pods
	// stay on the last configuration.
	var refused []string
	for _, err := range mailtemplate.Check("spec.channels.email.templates", t.Spec.Channels.Email.Templates) {
		refused = append(refused, err.Error())
	}
	refused = append(refused, wechatRefused(t)...)
	if len(refused) > 0 {
		problems = append(problems, refused...)
		setConfigError(t, append(problems, "the pods stay on the last configuration"))
		return nil
	}

	policies, err := r.acceptedPolicies(ctx, t)
	if err != nil {
		return err
	}
	rules, err := r.acceptedRules(ctx, t)
	if err != nil {
		return err
	}
	cfg, err := render(t, policies, rules)
	if err != nil {
		return err
	}
	if size := len(ConfigFile) + len(cfg.data[ConfigFile]); size > maxConfigBytes {
		setConfigError(t, append(problems, fmt.Sprintf(
			"the configuration with %d SLA policies and %d routing rules is %d bytes, more than a ConfigMap holds (%d); the pods stay on the last one that fit: use fewer or smaller SLAPolicies and RoutingRules (calendars are most of them)",
			len(cfg.policies), len(cfg.rules), size, maxConfigBytes)))
		return nil
	}
	if err := r.applyConfigMap(ctx, t, cfg); err != nil {
		if !apierrors.IsInvalid(err) && !apierrors.IsRequestEntityTooLargeError(err) {
			return err
		}
		// The pods must not roll to a hash their ConfigMap does not hold:
		// nothing else is applied until the spec changes.
		setConfigError(t, append(problems, err.Error()))
		return nil
	}

	// invalid keeps going past an object the API server refuses (a claim
	// that cannot shrink, say): the spec must change, retrying will not help.
	invalid := func(err error) error {
		if apierrors.IsInvalid(err) {
			problems = append(problems, err.Error())
			return nil
		}
		return err
	}
	var components []running
	wantDeployments, wantServices, wantIngresses := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, c := range t.Spec.Components.Enabled() {
		name := componentName(t, c)
		wantDeployments[name], wantServices[name] = true, true
		key := client.ObjectKey{Namespace: t.Namespace, Name: name}
		if keepsData(t, c) {
			ckey := client.ObjectKey{Namespace: t.Namespace, Name: claimName(t, c)}
			_, err := applyObject(ctx, r, t, "PersistentVolumeClaim", ckey, &corev1.PersistentVolumeClaim{}, claim(t, c), corev1ac.ExtractPersistentVolumeClaim)
			if err := invalid(err); err != nil {
				return err
			}
		}
		// The channel's pods read the relay URL and the WeChat account's
		// secrets too, the ticket's the attachments' URL, and restart on
		// them.
		var env []secretEnv
		switch {
		case c == v1alpha1.ComponentChannel:
			if relay != nil {
				env = append(env, secretEnv{SMTPRelayEnv, relay})
			}
			env = append(env, wechat...)
		case usesBlobs(c) && store.url != nil:
			env = append(env, secretEnv{BlobURLEnv, store.url})
		}
		podCredentials := credentialsHash(creds, env...)
		exclusive := keepsData(t, c) || (usesBlobs(c) && store.exclusive())
		d := &appsv1.Deployment{}
		if _, err := applyObject(ctx, r, t, "Deployment", key, d, deployment(t, c, cfg.hash, podCredentials, exclusive), appsv1ac.ExtractDeployment); err != nil {
			if err := invalid(err); err != nil {
				return err
			}
			d = nil
		}
		components = append(components, running{name: c, desired: t.Spec.Components.Replicas(c), deployment: d})
		if _, err := applyObject(ctx, r, t, "Service", key, &corev1.Service{}, service(t, c), corev1ac.ExtractService); err != nil {
			if err := invalid(err); err != nil {
				return err
			}
		}
	}
	if t.Spec.Ingress != nil && t.Spec.Components.IsEnabled(v1alpha1.ComponentGateway) {
		wantIngresses[t.Name] = true
		key := client.ObjectKey{Namespace: t.Namespace, Name: t.Name}
		_, err := applyObject(ctx, r, t, "Ingress", key, &networkingv1.Ingress{}, ingress(t), networkingv1ac.ExtractIngress)
		if err := invalid(err); err != nil {
			return err
		}
	}
	if err := deleteUnwanted(ctx, r, t, "Deployment", &appsv1.DeploymentList{}, wantDeployments); err != nil {
		return err
	}
	if err := deleteUnwanted(ctx, r, t, "Service", &corev1.ServiceList{}, wantServices); err != nil {
		return err
	}
	if err := deleteUnwanted(ctx, r, t, "Ingress", &networkingv1.IngressList{}, wantIngresses); err != nil {
		return err
	}

	setStatus(t, cfg, components, problems)
	r.setAttachmentsShared(t, store)
	return nil
}

// checkDatabaseSecret reports a missing database Secret or key: the pods
// could not start (CreateContainerConfigError), and the message says what
// to create.
func (r *Reconciler) checkDatabaseSecret(ctx context.Context, t *v1alpha1.HelpdeskTenant) ([]string, error) {
	pg := t.Spec.Database.Postgres
	if pg == nil {
		return nil, nil
	}
	_, problems, err := r.secretKey(ctx, t, "spec.database.postgres.urlSecretRef", pg.URLSecretRef, "the PostgreSQL URL")
	return problems, err
}

// relaySecret returns the SMTP relay URL the channel's pods read, nil when
// the channel does not run or the tenant names no relay; a missing Secret
// or key is reported as checkDatabaseSecret reports it.
func (r *Reconciler) relaySecret(ctx context.Context, t *v1alpha1.HelpdeskTenant) ([]byte, []string, error) {
	ref := t.Spec.Channels.Email.RelaySecretRef
	if ref == nil || !t.Spec.Components.IsEnabled(v1alpha1.ComponentChannel) {
		return nil, nil, nil
	}
	return r.secretKey(ctx, t, "spec.channels.email.relaySecretRef", *ref, "the SMTP relay URL")
}

// secretKey reads the value of the Secret key that the reference at field
// names. A missing Secret or key is a problem with the spec, returned as
// a message that says what to create: holding is what the key must hold.
func (r *Reconciler) secretKey(ctx context.Context, t *v1alpha1.HelpdeskTenant, field string, ref v1alpha1.SecretKeySelector, holding string) ([]byte, []string, error) {
	var s corev1.Secret
	err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: t.Namespace, Name: ref.Name}, &s)
	switch {
	case apierrors.IsNotFound(err):
		return nil, []string{fmt.Sprintf("%s.name: Secret %q does not exist in namespace %s; create it with %s under the key %q",
			field, ref.Name, t.Namespace, holding, ref.Key)}, nil
	case err != nil:
		return nil, nil, fmt.Errorf("get the Secret %s/%s of %s: %w", t.Namespace, ref.Name, field, err)
	}
	v, problem := secretValue(&s, field, ref)
	if problem != "" {
		return nil, []string{problem}, nil
	}
	return v, nil, nil
}

// secretValue returns the value of the key of s that the reference at
// field names, or a message saying that s has no such key and which it
// has.
func secretValue(s *corev1.Secret, field string, ref v1alpha1.SecretKeySelector) ([]byte, string) {
	if v, ok := s.Data[ref.Key]; ok {
		if v == nil {
			v = []byte{}
		}
		return v, ""
	}
	if v, ok := s.StringData[ref.Key]; ok {
		return []byte(v), ""
	}
	keys := slices.Sorted(maps.Keys(s.Data))
	has := "it has no keys"
	if len(keys) > 0 {
		has = "it has: " + strings.Join(keys, ", ")
	}
	return nil, fmt.Sprintf("%s.key: Secret %q has no key %q; %s", field, ref.Name, ref.Key, has)
}

// acceptedPolicies returns the tenant's SLA policies that Resolve accepts,
// resolved; the SLAPolicy controller reports the others.
func (r *Reconciler) acceptedPolicies(ctx context.Context, t *v1alpha1.HelpdeskTenant) ([]policy, error) {
	var list v1alpha1.SLAPolicyList
	if err := r.Client.List(ctx, &list, client.InNamespace(t.Namespace), client.MatchingFields{slapolicy.TenantRefIndex: t.Name}); err != nil {
		return nil, fmt.Errorf("list the SLA policies of HelpdeskTenant %s/%s: %w", t.Namespace, t.Name, err)
	}
	var out []policy
	for i := range list.Items {
		p := &list.Items[i]
		if !p.DeletionTimestamp.IsZero() {
			continue
		}
		doc, err := slapolicy.Resolve(p, t)
		if err != nil {
			continue
		}
		out = append(out, policy{doc: doc, generation: p.Generation})
	}
	return out, nil
}

// acceptedRules returns the tenant's routing rules that routingrule.Resolve
// accepts, resolved; none when the tenant does not run the routing
// component, so that its pods do not roll for rules nothing reads. The
// RoutingRule controller reports the others.
func (r *Reconciler) acceptedRules(ctx context.Context, t *v1alpha1.HelpdeskTenant) ([]rule, error) {
	if !t.Spec.Components.IsEnabled(v1alpha1.ComponentRouting) {
		return nil, nil
	}
	var list v1alpha1.RoutingRuleList
	if err := r.Client.List(ctx, &list, client.InNamespace(t.Namespace), client.MatchingFields{routingrule.TenantRefIndex: t.Name}); err != nil {
		return nil, fmt.Errorf("list the routing rules of HelpdeskTenant %s/%s: %w", t.Namespace, t.Name, err)
	}
	var out []rule
	for i := range list.Items {
		rr := &list.Items[i]
		if !rr.DeletionTimestamp.IsZero() {
			continue
		}
		doc, err := routingrule.Resolve(rr, t)
		if err != nil {
			continue
		}
		out = append(out, rule{doc: doc, generation: rr.Generation})
	}
	return out, nil
}

// applyConfigMap writes the rendered configuration and records a change.
func (r *Reconciler) applyConfigMap(ctx context.Context, t *v1alpha1.HelpdeskTenant, cfg rendered) error {
	key := client.ObjectKey{Namespace: t.Namespace, Name: configMapName(t)}
	var previous corev1.ConfigMap
	if err := r.Client.Get(ctx, key, &previous); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("get ConfigMap %s: %w", key, err)
	}
	res, err := applyObject(ctx, r, t, "ConfigMap", key, &corev1.ConfigMap{}, configMap(t, cfg), corev1ac.ExtractConfigMap)
	if err != nil {
		return err
	}
	if res == updated && hashData(previous.Data) != cfg.hash {
		r.event(t, corev1.EventTypeNormal, "ConfigChanged", "Render",
			"configuration %s changed to %s (SLA policies: %d, routing rules: %d); the pods roll to it", short(hashData(previous.Data)), short(cfg.hash), len(cfg.policies), len(cfg.rules))
	}
	return nil
}

// event records an event on the tenant when a recorder is set.
func (r *Reconciler) event(t *v1alpha1.HelpdeskTenant, typ, reason, action, note string, args ...any) {
	if r.Recorder == nil {
		return
	}
	r.Recorder.Eventf(t, nil, typ, reason, action, note, args...)
}
