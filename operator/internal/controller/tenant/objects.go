package tenant

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	networkingv1ac "k8s.io/client-go/applyconfigurations/networking/v1"

	"github.com/kubedesk/kubedesk/operator/api/v1alpha1"
)

// FieldOwner is the operator's field manager in server-side apply, and
// the value of the managed-by label on everything it creates.
const FieldOwner = "kubedesk-operator"

// ConfigHashAnnotation on a pod template holds the hash of the
// configuration its pods run.
const ConfigHashAnnotation = "kubedesk.io/config-hash"

// CredentialsHashAnnotation on a pod template holds the hash of the
// credentials its pods read from the environment, so that pods restart
// when they change.
const CredentialsHashAnnotation = "kubedesk.io/credentials-hash"

// The standard labels (app.kubernetes.io) on every object the operator
// creates for a tenant.
const (
	LabelName      = "app.kubernetes.io/name"
	LabelInstance  = "app.kubernetes.io/instance"
	LabelComponent = "app.kubernetes.io/component"
	LabelManagedBy = "app.kubernetes.io/managed-by"
	LabelPartOf    = "app.kubernetes.io/part-of"
)

// Ports every component serves (the binary's defaults).
const (
	httpPort = 8080
	grpcPort = 9090
)

// The channel component's SMTP listener: the binary's --smtp-addr default
// in the pods (a non-root process cannot bind 25), the standard SMTP port
// on its Service, which is what a mail gateway or MX relay is pointed at.
const (
	smtpContainerPort = 2525
	smtpServicePort   = 25
)

// SMTPRelayEnv is the variable the channel component reads its SMTP relay
// URL from (spec.channels.email.relaySecretRef).
const SMTPRelayEnv = "KUBEDESK_SMTP_RELAY"

// The variables the channel component reads the secrets of the tenant's
// WeChat Official Account from (spec.channels.wechat: appSecret, token,
// encodingAESKey). The operator sets each from the Secret key its
// secretKeyRef names, and the rendered configuration says `env:` with
// the variable's name in place of the reference.
const (
	WeChatAppSecretEnv      = "KUBEDESK_WECHAT_APP_SECRET"
	WeChatTokenEnv          = "KUBEDESK_WECHAT_TOKEN"
	WeChatEncodingAESKeyEnv = "KUBEDESK_WECHAT_ENCODING_AES_KEY"
)

// BlobURLEnv is the variable the ticket component reads its blob store's
// URL from (--blob-url; spec.attachments.s3.urlSecretRef).
const BlobURLEnv = "KUBEDESK_BLOB_URL"

// blobsDir is where the binary keeps blobs when --blob-url is empty: the
// blobs directory of its data directory, where the claim of
// spec.attachments.volume is mounted.
const blobsDir = dataDir + "/blobs"

// nonroot is the image's user and group (hack/build-image.sh).
const nonroot = 65532

// componentConfig labels the tenant's ConfigMap, which is no component's.
const componentConfig = "config"

// defaultStorageSize is a data claim's size when spec.database.embedded
// does not give one (the schema default).
var defaultStorageSize = resource.MustParse("1Gi")

// Labels are the standard labels of a tenant's object.
func Labels(t *v1alpha1.HelpdeskTenant, component string) map[string]string {
	return map[string]string{
		LabelName:      "kubedesk",
		LabelInstance:  t.Name,
		LabelComponent: component,
		LabelManagedBy: FieldOwner,
		LabelPartOf:    "kubedesk",
	}
}

// selectorLabels select a component's pods; a Deployment's selector
// cannot change, so it holds only labels that never do.
func selectorLabels(t *v1alpha1.HelpdeskTenant, c v1alpha1.ComponentName) map[string]string {
	return map[string]string{LabelName: "kubedesk", LabelInstance: t.Name, LabelComponent: string(c)}
}

// componentName names a component's Deployment and Service.
func componentName(t *v1alpha1.HelpdeskTenant, c v1alpha1.ComponentName) string {
	return t.Name + "-" + string(c)
}

func configMapName(t *v1alpha1.HelpdeskTenant) string { return t.Name + "-config" }

// claimName names a component's data claim.
func claimName(t *v1alpha1.HelpdeskTenant, c v1alpha1.ComponentName) string {
	return componentName(t, c) + "-data"
}

// keepsData reports whether a component keeps files in /data that must
// outlive its pods, on a PersistentVolumeClaim: the ticket, channel and
// routing services their SQLite databases (database.embedded), the worker
// its SQLite relay cursors (database.embedded) and the embedded Temporal
// server's store (temporal.embedded, whatever the database).
func keepsData(t *v1alpha1.HelpdeskTenant, c v1alpha1.ComponentName) bool {
	switch c {
	case v1alpha1.ComponentTicket, v1alpha1.ComponentChannel, v1alpha1.ComponentRouting:
		return t.Spec.Database.Embedded != nil
	case v1alpha1.ComponentWorker:
		return t.Spec.Database.Embedded != nil || t.Spec.Temporal.Embedded != nil
	}
	return false
}

// usesDatabase reports whether a component opens the tenant's database and
// so gets its URL; the gateway never sees it.
func usesDatabase(c v1alpha1.ComponentName) bool { return c != v1alpha1.ComponentGateway }

// usesBlobs reports whether a component opens the blob store and so gets
// spec.attachments: the ticket service, which serves TicketBlobService;
// the channel (mail and its attachments) and the gateway (downloads) reach
// the blobs through it.
func usesBlobs(c v1alpha1.ComponentName) bool { return c == v1alpha1.ComponentTicket }

// ownerRef makes the tenant the controller of an object: the garbage
// collector deletes the object with the tenant, and the operator's watches
// map the object's events back to the tenant.
func ownerRef(t *v1alpha1.HelpdeskTenant) *metav1ac.OwnerReferenceApplyConfiguration {
	return metav1ac.OwnerReference().
		WithAPIVersion(v1alpha1.GroupVersion.String()).
		WithKind("HelpdeskTenant").
		WithName(t.Name).
		WithUID(t.UID).
		WithController(true).
		WithBlockOwnerDeletion(true)
}

func configMap(t *v1alpha1.HelpdeskTenant, cfg rendered) *corev1ac.ConfigMapApplyConfiguration {
	return corev1ac.ConfigMap(configMapName(t), t.Namespace).
		WithLabels(Labels(t, componentConfig)).
		WithOwnerReferences(ownerRef(t)).
		WithData(cfg.data)
}

// deployment runs one component: `kubedesk serve --target=<component>`
// on the tenant's configuration, locked down (non-root, read-only root
// file system, no capabilities), with writable /tmp and /data, and for the
// ticket component the attachments' store of spec.attachments. exclusive
// says that the pods' volumes take one pod at a time (a data claim, an
// attachments claim that is not ReadWriteMany): the old pod goes before
// the new one starts.
func deployment(t *v1alpha1.HelpdeskTenant, c v1alpha1.ComponentName, hash, credentials string, exclusive bool) *appsv1ac.DeploymentApplyConfiguration {
	ports := []*corev1ac.ContainerPortApplyConfiguration{
		corev1ac.ContainerPort().WithName("http").WithContainerPort(httpPort).WithProtocol(corev1.ProtocolTCP),
		corev1ac.ContainerPort().WithName("grpc").WithContainerPort(grpcPort).WithProtocol(corev1.ProtocolTCP),
	}
	if c == v1alpha1.ComponentChannel {
		ports = append(ports, corev1ac.ContainerPort().WithName("smtp").WithContainerPort(smtpContainerPort).WithProtocol(corev1.ProtocolTCP))
	}
	container := corev1ac.Container().
		WithName("kubedesk").
		WithImage(t.Spec.Image).
		WithArgs("serve", "--target="+string(c), "--config="+configDir+"/"+ConfigFile).
		WithPorts(ports...).
		// The HTTP listener opens last, after migrations and the embedded
		// Temporal server: the startup probe gives it three minutes
		// before the liveness probe counts.
		WithStartupProbe(probe("/healthz").WithPeriodSeconds(2).WithFailureThreshold(90)).
		WithLivenessProbe(probe("/healthz").WithPeriodSeconds(10).WithFailureThreshold(3)).
		WithReadinessProbe(probe("/readyz").WithPeriodSeconds(5).WithFailureThreshold(3)).
		WithSecurityContext(corev1ac.SecurityContext().
			WithRunAsNonRoot(true).
			WithRunAsUser(nonroot).
			WithRunAsGroup(nonroot).
			WithReadOnlyRootFilesystem(true).
			WithAllowPrivilegeEscalation(false).
			WithCapabilities(corev1ac.Capabilities().WithDrop("ALL")).
			WithSeccompProfile(corev1ac.SeccompProfile().WithType(corev1.SeccompProfileTypeRuntimeDefault))).
		WithVolumeMounts(
			corev1ac.VolumeMount().WithName("config").WithMountPath(configDir).WithReadOnly(true),
			corev1ac.VolumeMount().WithName("data").WithMountPath(dataDir),
		)
	attachments := t.Spec.Attachments
	if attachments == nil || !usesBlobs(c) {
		attachments = &v1alpha1.AttachmentsSpec{}
	}
	if attachments.Volume != nil {
		// Inside /data: the binary keeps blobs in <data dir>/blobs.
		container.WithVolumeMounts(corev1ac.VolumeMount().WithName("attachments").WithMountPath(blobsDir))
	}
	container.WithVolumeMounts(corev1ac.VolumeMount().WithName("tmp").WithMountPath("/tmp"))
	if p := t.Spec.ImagePullPolicy; p != "" {
		container.WithImagePullPolicy(corev1.PullPolicy(p))
	}
	if pg := t.Spec.Database.Postgres; pg != nil && usesDatabase(c) {
		container.WithEnv(corev1ac.EnvVar().WithName("KUBEDESK_DATABASE_URL").WithValueFrom(
			corev1ac.EnvVarSource().WithSecretKeyRef(
				corev1ac.SecretKeySelector().WithName(pg.URLSecretRef.Name).WithKey(pg.URLSecretRef.Key))))
	}
	// Every process of the tenant presents and checks the internal
	// token; only the gateway's, which runs the identity module, registers
	// the admin key, and only it is given the key.
	creds := []struct{ name, key string }{{InternalTokenEnv, InternalTokenKey}}
	if c == v1alpha1.ComponentGateway {
		creds = append(creds, struct{ name, key string }{AdminKeyEnv, AdminKeyKey})
	}
	for _, e := range creds {
		container.WithEnv(corev1ac.EnvVar().WithName(e.name).WithValueFrom(
			corev1ac.EnvVarSource().WithSecretKeyRef(
				corev1ac.SecretKeySelector().WithName(CredentialsSecretName(t)).WithKey(e.key))))
	}
	if ref := t.Spec.Channels.Email.RelaySecretRef; ref != nil && c == v1alpha1.ComponentChannel {
		container.WithEnv(corev1ac.EnvVar().WithName(SMTPRelayEnv).WithValueFrom(
			corev1ac.EnvVarSource().WithSecretKeyRef(
				corev1ac.SecretKeySelector().WithName(ref.Name).WithKey(ref.Key))))
	}
	if c == v1alpha1.ComponentChannel {
		for _, w := range wechatSecrets(t) {
			if ref := w.source.SecretKeyRef; ref != nil {
				container.WithEnv(corev1ac.EnvVar().WithName(w.env).WithValueFrom(
					corev1ac.EnvVarSource().WithSecretKeyRef(
						corev1ac.SecretKeySelector().WithName(ref.Name).WithKey(ref.Key))))
			}
		}
	}
	if s3 := attachments.S3; s3 != nil {
		container.WithEnv(corev1ac.EnvVar().WithName(BlobURLEnv).WithValueFrom(
			corev1ac.EnvVarSource().WithSecretKeyRef(
				corev1ac.SecretKeySelector().WithName(s3.URLSecretRef.Name).WithKey(s3.URLSecretRef.Key))))
	}
	if r := resources(t.Spec.Components.Get(c)); r != nil {
		container.WithResources(r)
	}

	data := corev1ac.Volume().WithName("data")
	// A data claim is ReadWriteOnce and SQLite takes one writer: the old
	// pod goes before the new one starts (exclusive). The others roll
	// with the default surge; given explicitly so that the operator owns
	// the fields and drops them when the strategy turns to Recreate.
	strategy := appsv1ac.DeploymentStrategy().WithType(appsv1.RollingUpdateDeploymentStrategyType).
		WithRollingUpdate(appsv1ac.RollingUpdateDeployment().
			WithMaxSurge(intstr.FromString("25%")).
			WithMaxUnavailable(intstr.FromString("25%")))
	if exclusive {
		strategy = appsv1ac.DeploymentStrategy().WithType(appsv1.RecreateDeploymentStrategyType)
	}
	if keepsData(t, c) {
		data.WithPersistentVolumeClaim(corev1ac.PersistentVolumeClaimVolumeSource().WithClaimName(claimName(t, c)))
	} else {
		data.WithEmptyDir(corev1ac.EmptyDirVolumeSource())
	}
	volumes := []*corev1ac.VolumeApplyConfiguration{
		corev1ac.Volume().WithName("config").WithConfigMap(corev1ac.ConfigMapVolumeSource().WithName(configMapName(t))),
		data,
	}
	if v := attachments.Volume; v != nil {
		volumes = append(volumes, corev1ac.Volume().WithName("attachments").
			WithPersistentVolumeClaim(corev1ac.PersistentVolumeClaimVolumeSource().WithClaimName(v.ClaimName)))
	}
	volumes = append(volumes, corev1ac.Volume().WithName("tmp").WithEmptyDir(corev1ac.EmptyDirVolumeSource()))

	pod := corev1ac.PodSpec().
		WithContainers(container).
		// The pods do not call the Kubernetes API.
		WithAutomountServiceAccountToken(false).
		// Service links would put variables such as KUBEDESK_GATEWAY_PORT
		// in the environment of a tenant named kubedesk, where the binary
		// reads KUBEDESK_* as configuration.
		WithEnableServiceLinks(false).
		WithSecurityContext(corev1ac.PodSecurityContext().
			WithRunAsNonRoot(true).
			WithRunAsUser(nonroot).
			WithRunAsGroup(nonroot).
			WithFSGroup(nonroot).
			WithSeccompProfile(corev1ac.SeccompProfile().WithType(corev1.SeccompProfileTypeRuntimeDefault))).
		WithVolumes(volumes...)

	return appsv1ac.Deployment(componentName(t, c), t.Namespace).
		WithLabels(Labels(t, string(c))).
		WithOwnerReferences(ownerRef(t)).
		WithSpec(appsv1ac.DeploymentSpec().
			WithReplicas(t.Spec.Components.Replicas(c)).
			WithRevisionHistoryLimit(3).
			WithSelector(metav1ac.LabelSelector().WithMatchLabels(selectorLabels(t, c))).
			WithStrategy(strategy).
			WithTemplate(corev1ac.PodTemplateSpec().
				WithLabels(Labels(t, string(c))).
				WithAnnotations(map[string]string{ConfigHashAnnotation: hash, CredentialsHashAnnotation: credentials}).
				WithSpec(pod)))
}

func probe(path string) *corev1ac.ProbeApplyConfiguration {
	return corev1ac.Probe().WithHTTPGet(corev1ac.HTTPGetAction().WithPath(path).WithPort(intstr.FromString("http")))
}

// resources converts a component's resources; nil when it sets none.
func resources(s *v1alpha1.ComponentSpec) *corev1ac.ResourceRequirementsApplyConfiguration {
	if s == nil || (len(s.Resources.Requests) == 0 && len(s.Resources.Limits) == 0) {
		return nil
	}
	list := func(in v1alpha1.ResourceList) corev1.ResourceList {
		out := make(corev1.ResourceList, len(in))
		for k, v := range in {
			out[corev1.ResourceName(k)] = v
		}
		return out
	}
	r := corev1ac.ResourceRequirements()
	if len(s.Resources.Requests) > 0 {
		r.WithRequests(list(s.Resources.Requests))
	}
	if len(s.Resources.Limits) > 0 {
		r.WithLimits(list(s.Resources.Limits))
	}
	return r
}

// service reaches a component's pods: HTTP (REST, probes, metrics) and
// gRPC, which the other components dial, and for the channel SMTP on
// port 25 (the pods' 2525), where the tenant's mail is delivered.
func service(t *v1alpha1.HelpdeskTenant, c v1alpha1.ComponentName) *corev1ac.ServiceApplyConfiguration {
	ports := []*corev1ac.ServicePortApplyConfiguration{
		corev1ac.ServicePort().WithName("http").WithPort(httpPort).WithTargetPort(intstr.FromString("http")).WithProtocol(corev1.ProtocolTCP),
		corev1ac.ServicePort().WithName("grpc").WithPort(grpcPort).WithTargetPort(intstr.FromString("grpc")).WithProtocol(corev1.ProtocolTCP),
	}
	if c == v1alpha1.ComponentChannel {
		ports = append(ports, corev1ac.ServicePort().WithName("smtp").WithPort(smtpServicePort).WithTargetPort(intstr.FromString("smtp")).WithProtocol(corev1.ProtocolTCP))
	}
	return corev1ac.Service(componentName(t, c), t.Namespace).
		WithLabels(Labels(t, string(c))).
		WithOwnerReferences(ownerRef(t)).
		WithSpec(corev1ac.ServiceSpec().
			WithType(corev1.ServiceTypeClusterIP).
			WithSelector(selectorLabels(t, c)).
			WithPorts(ports...))
}

// ingress serves the gateway on spec.ingress.host.
func ingress(t *v1alpha1.HelpdeskTenant) *networkingv1ac.IngressApplyConfiguration {
	in := t.Spec.Ingress
	spec := networkingv1ac.IngressSpec().WithRules(networkingv1ac.IngressRule().
		WithHost(in.Host).
		WithHTTP(networkingv1ac.HTTPIngressRuleValue().WithPaths(networkingv1ac.HTTPIngressPath().
			WithPath("/").
			WithPathType(networkingv1.PathTypePrefix).
			WithBackend(networkingv1ac.IngressBackend().WithService(networkingv1ac.IngressServiceBackend().
				WithName(componentName(t, v1alpha1.ComponentGateway)).
				WithPort(networkingv1ac.ServiceBackendPort().WithName("http")))))))
	if in.ClassName != nil {
		spec.WithIngressClassName(*in.ClassName)
	}
	if in.TLSSecretName != "" {
		spec.WithTLS(networkingv1ac.IngressTLS().WithHosts(in.Host).WithSecretName(in.TLSSecretName))
	}
	return networkingv1ac.Ingress(t.Name, t.Namespace).
		WithLabels(Labels(t, string(v1alpha1.ComponentGateway))).
		WithOwnerReferences(ownerRef(t)).
		WithSpec(spec)
}

// claim is a component's data volume. It has no owner reference: deleting
// the tenant, disabling the component or switching to PostgreSQL leaves
// it, so a help desk's tickets never vanish with a field edit; the same
// tenant created again finds its data. Delete it by hand when the data is
// no longer wanted (kubectl delete pvc -l app.kubernetes.io/instance=<tenant>).
func claim(t *v1alpha1.HelpdeskTenant, c v1alpha1.ComponentName) *corev1ac.PersistentVolumeClaimApplyConfiguration {
	size := defaultStorageSize
	var class *string
	if e := t.Spec.Database.Embedded; e != nil {
		if e.StorageSize != nil {
			size = *e.StorageSize
		}
		class = e.StorageClassName
	}
	spec := corev1ac.PersistentVolumeClaimSpec().
		WithAccessModes(corev1.ReadWriteOnce).
		WithResources(corev1ac.VolumeResourceRequirements().WithRequests(corev1.ResourceList{corev1.ResourceStorage: size}))
	if class != nil {
		spec.WithStorageClassName(*class)
	}
	return corev1ac.PersistentVolumeClaim(claimName(t, c), t.Namespace).
		WithLabels(Labels(t, string(c))).
		WithSpec(spec)
}

// gatewayURL is where the help desk is served: the ingress host, else the
// gateway Service inside the cluster; "" when the gateway does not run.
func gatewayURL(t *v1alpha1.HelpdeskTenant) string {
	switch {
	case !t.Spec.Components.IsEnabled(v1alpha1.ComponentGateway):
		return ""
	case t.Spec.Ingress != nil && t.Spec.Ingress.TLSSecretName != "":
		return "https://" + t.Spec.Ingress.Host
	case t.Spec.Ingress != nil:
		return "http://" + t.Spec.Ingress.Host
	}
	return fmt.Sprintf("http://%s.%s.svc:%d", componentName(t, v1alpha1.ComponentGateway), t.Namespace, httpPort)
}
