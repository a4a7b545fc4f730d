{{/*
The HelpdeskTenant's name: tenant.name, else the release name. It is the
tenant ID, so it must be what the CRD accepts: a DNS label of at most 50
characters starting with a letter.
*/}}
{{- define "kubedesk.tenantName" -}}
{{- $name := default .Release.Name .Values.tenant.name }}
{{- if or (gt (len $name) 50) (not (regexMatch "^[a-z]([-a-z0-9]*[a-z0-9])?$" $name)) }}
{{- if .Values.tenant.name }}
{{- fail (printf "tenant.name: %q is not a DNS label of at most 50 characters starting with a letter" $name) }}
{{- else }}
{{- fail (printf "tenant.name: empty, and the release name %q is not a DNS label of at most 50 characters starting with a letter; set tenant.name" $name) }}
{{- end }}
{{- end }}
{{- $name }}
{{- end }}

{{- define "kubedesk.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The standard labels of every object of the chart.
*/}}
{{- define "kubedesk.labels" -}}
helm.sh/chart: {{ include "kubedesk.chart" . }}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: kubedesk
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/*
tenant.spec as the HelpdeskTenant gets it. database.postgres and
temporal.address win over the embedded defaults, so an override needs not
also remove them (the CRD accepts exactly one of each).
*/}}
{{- define "kubedesk.tenantSpec" -}}
{{- $spec := deepCopy (default dict .Values.tenant.spec) }}
{{- $db := default dict $spec.database }}
{{- $temporal := default dict $spec.temporal }}
{{- if $db.postgres }}{{ $_ := unset $db "embedded" }}{{ end }}
{{- if $temporal.address }}{{ $_ := unset $temporal "embedded" }}{{ end }}
{{- $embedded := list }}
{{- if hasKey $db "embedded" }}{{ $embedded = append $embedded "tenant.spec.database.embedded" }}{{ end }}
{{- if hasKey $temporal "embedded" }}{{ $embedded = append $embedded "tenant.spec.temporal.embedded" }}{{ end }}
{{- if $embedded }}
{{- range $component, $c := $spec.components }}
{{- if and $c (gt (int (default 1 $c.replicas)) 1) }}
{{- fail (printf "tenant.spec.components.%s.replicas: %d, but with %s every component runs one replica at most; set 0 or 1, or use database.postgres and temporal.address" $component (int $c.replicas) (join " and " $embedded)) }}
{{- end }}
{{- end }}
{{- end }}
{{- toYaml $spec }}
{{- end }}
