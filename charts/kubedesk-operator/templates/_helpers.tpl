{{/*
Chart name, at most 63 characters (a DNS label).
*/}}
{{- define "kubedesk-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Prefix of every object's name: the release name, with the chart name unless
the release name already contains it.
*/}}
{{- define "kubedesk-operator.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "kubedesk-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels that select the manager's pods; they never change for a release.
*/}}
{{- define "kubedesk-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kubedesk-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: manager
{{- end }}

{{/*
The standard labels on every object of the chart.
*/}}
{{- define "kubedesk-operator.labels" -}}
helm.sh/chart: {{ include "kubedesk-operator.chart" . }}
{{ include "kubedesk-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: kubedesk
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "kubedesk-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "kubedesk-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name: set it to an existing ServiceAccount when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "kubedesk-operator.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
What the manager may do in the namespaces it watches: read and update its
own resources and their status, manage the objects a tenant runs on, read
(never write) the Secrets a tenant refers to, and record events. Cluster-wide
in a ClusterRole, or per namespace in a Role each (watchNamespaces).
*/}}
{{- define "kubedesk-operator.managerRules" -}}
- apiGroups: ["kubedesk.io"]
  resources: ["helpdesktenants", "slapolicies"]
  verbs: ["get", "list", "watch", "update", "patch"]
- apiGroups: ["kubedesk.io"]
  resources: ["helpdesktenants/status", "slapolicies/status"]
  verbs: ["get", "update", "patch"]
- apiGroups: ["kubedesk.io"]
  resources: ["helpdesktenants/finalizers", "slapolicies/finalizers"]
  verbs: ["update"]
- apiGroups: ["apps"]
  resources: ["deployments"]
  verbs: ["get", "list", "watch", "create", "update", "patch", "delete"]
- apiGroups: [""]
  resources: ["configmaps", "services", "persistentvolumeclaims"]
  verbs: ["get", "list", "watch", "create", "update", "patch", "delete"]
- apiGroups: ["networking.k8s.io"]
  resources: ["ingresses"]
  verbs: ["get", "list", "watch", "create", "update", "patch", "delete"]
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "list", "watch"]
{{ include "kubedesk-operator.eventRules" . }}
{{- end }}

{{- define "kubedesk-operator.eventRules" -}}
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end }}

{{/*
Settings that cannot be expressed in values.schema.json.
*/}}
{{- define "kubedesk-operator.validate" -}}
{{- if and (gt (int .Values.replicas) 1) (not .Values.leaderElection.enabled) }}
{{- fail (printf "replicas: %d needs leaderElection.enabled: true, or every replica would reconcile the same objects" (int .Values.replicas)) }}
{{- end }}
{{- if and .Values.metrics.enabled (eq (int .Values.metrics.port) (int .Values.health.port)) }}
{{- fail (printf "metrics.port and health.port are both %d; give them different ports" (int .Values.health.port)) }}
{{- end }}
{{- end }}
