{{/*
Names and labels. Every object carries the recommended app.kubernetes.io labels; the six
services are told apart by app.kubernetes.io/component (= the service name).
*/}}

{{/* The six services, in a fixed order. */}}
{{- define "hishamos.serviceNames" -}}
agent-gateway orchestrator usage-metering alerting feedback-ml secrets
{{- end }}

{{- define "hishamos.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 40 | trimSuffix "-" }}
{{- end }}

{{/*
Full name: <release>-hishamos, or just <release> when the release name already contains the
chart name (so `helm install hishamos ...` gives hishamos-agent-gateway, hishamos-secrets...).
Kept to 40 characters so "<fullname>-usage-metering" stays a valid 63-character name.
*/}}
{{- define "hishamos.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "hishamos.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Selector labels shared by every pod of the release. */}}
{{- define "hishamos.selectorLabels" -}}
app.kubernetes.io/name: {{ include "hishamos.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "hishamos.labels" -}}
helm.sh/chart: {{ include "hishamos.chart" . }}
{{ include "hishamos.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: hishamos
{{- end }}

{{/* Selector labels of one component. Call with (dict "root" $ "component" "agent-gateway"). */}}
{{- define "hishamos.componentSelectorLabels" -}}
{{ include "hishamos.selectorLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "hishamos.componentLabels" -}}
{{ include "hishamos.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* <fullname>-<service>: the Deployment, Service, ConfigMap, PDB and HPA name of a service. */}}
{{- define "hishamos.componentName" -}}
{{- printf "%s-%s" (include "hishamos.fullname" .root) .component | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* In-cluster URL of a service: http://<fullname>-<service>:<port>. */}}
{{- define "hishamos.serviceUrl" -}}
{{- $svc := index .root.Values.services .component -}}
http://{{ include "hishamos.componentName" . }}:{{ $svc.port }}
{{- end }}

{{- define "hishamos.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "hishamos.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "hishamos.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* DATABASE_URL_AGENT_GATEWAY style name for a service's database URL. */}}
{{- define "hishamos.databaseUrlEnvName" -}}
DATABASE_URL_{{ . | upper | replace "-" "_" }}
{{- end }}

{{/* One env entry read from an existing Secret. (dict "name" "X" "secret" "s" "key" "k" "optional" false) */}}
{{- define "hishamos.secretEnv" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ .secret | quote }}
      key: {{ .key | quote }}
      {{- if .optional }}
      optional: true
      {{- end }}
{{- end }}

{{/* imagePullSecrets block. */}}
{{- define "hishamos.imagePullSecrets" -}}
{{- with .Values.image.pullSecrets }}
imagePullSecrets:
  {{- range . }}
  - name: {{ . | quote }}
  {{- end }}
{{- end }}
{{- end }}

{{/*
One NetworkPolicy egress rule from a values rule ({to: [peers], ports: [numbers]}), as a
one-item YAML list. An empty `to` means any destination on those ports.
(dict "rule" $r "comment" "..." "udp" bool)
*/}}
{{- define "hishamos.egressRule" -}}
{{- $ports := list }}
{{- range .rule.ports }}
{{- $ports = append $ports (dict "protocol" "TCP" "port" .) }}
{{- if $.udp }}
{{- $ports = append $ports (dict "protocol" "UDP" "port" .) }}
{{- end }}
{{- end }}
{{- $r := dict "ports" $ports }}
{{- if .rule.to }}
{{- $_ := set $r "to" .rule.to }}
{{- end -}}
# {{ .comment }}
{{ toYaml (list $r) }}
{{- end }}
