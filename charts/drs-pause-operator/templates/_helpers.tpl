{{/* Chart name, truncated to the 63 characters of a DNS label. */}}
{{- define "drs-pause-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: the release name, with the chart name unless the release name holds it. */}}
{{- define "drs-pause-operator.fullname" -}}
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

{{- define "drs-pause-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "drs-pause-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "drs-pause-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "drs-pause-operator.labels" -}}
helm.sh/chart: {{ include "drs-pause-operator.chart" . }}
{{ include "drs-pause-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: drs-pause-operator
{{- end }}

{{/*
The labels of one object, with the component it belongs to:
  include "drs-pause-operator.componentLabels" (dict "root" $ "component" "operator")
Components: operator (the Deployment and its pods, the ServiceAccount, the operator's own RBAC),
metrics (the metrics Service and ServiceMonitor), monitoring (the PrometheusRule and the Grafana
dashboard's ConfigMap), aggregated-roles (the ClusterRoles that extend
the default admin/edit/view roles). Never part of a selector: the Deployment's selector is
immutable, so it stays the selectorLabels above.
*/}}
{{- define "drs-pause-operator.componentLabels" -}}
{{ include "drs-pause-operator.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/*
Create the ClusterRoles that aggregate DrsJobPause rights into the default admin/edit/view
roles? rbac.aggregateToDefaultRoles: true/false, or null for the mode's default: on in
all-namespaces mode, off in namespace-list mode (that mode creates nothing cluster-scoped, and
these roles would reach every namespace's admins, editors and viewers, not only the watched
namespaces'). "true" or "".
*/}}
{{- define "drs-pause-operator.aggregateToDefaultRoles" -}}
{{- $aggregate := .Values.rbac.aggregateToDefaultRoles -}}
{{- if kindIs "invalid" $aggregate -}}
{{- $aggregate = not .Values.watchNamespaces -}}
{{- end -}}
{{- if and .Values.rbac.create $aggregate -}}
true
{{- end -}}
{{- end }}

{{- define "drs-pause-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "drs-pause-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "drs-pause-operator.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
The rules for the objects' own credentials Secrets (spec.credentialsSecretRef): `get` only, by
name. The names are chosen by the objects' authors, so unless rbac.credentialsSecrets.names pins
them, this is `get` on any Secret in the watched namespaces (never list or watch: the operator
cannot enumerate Secrets, only read one whose name it is given).
*/}}
{{- define "drs-pause-operator.credentialsSecretsRule" -}}
{{- if .Values.rbac.credentialsSecrets.enabled }}
# Read the Secret an object names in spec.credentialsSecretRef.
- apiGroups: [""]
  resources: ["secrets"]
  {{- with .Values.rbac.credentialsSecrets.names }}
  resourceNames: {{ toJson . }}
  {{- end }}
  verbs: ["get"]
{{- end }}
{{- end }}

{{/* The rules the operator needs on the objects it serves, in one namespace or all of them. */}}
{{- define "drs-pause-operator.rules" -}}
# kopf lists and watches the DrsJobPause objects (the operator's only input); patch sets the
# operator's one finalizer (drs.cloudops.dev/resume, a JSON patch of metadata.finalizers), only
# for spec.resume.onDelete.
- apiGroups: ["drs.cloudops.dev"]
  resources: ["drsjobpauses"]
  verbs: ["list", "watch", "patch"]
# All results are written as one JSON merge patch of the status subresource; never the spec.
- apiGroups: ["drs.cloudops.dev"]
  resources: ["drsjobpauses/status"]
  verbs: ["patch"]
# Pause windows (DrsPauseWindow): kopf lists and watches them, each pass writes their status,
# creates the window's child DrsJobPause objects and deletes finished ones beyond historyLimit.
# A child's ownerReference sets blockOwnerDeletion, which needs update on the window's
# finalizers subresource where OwnerReferencesPermissionEnforcement is on.
- apiGroups: ["drs.cloudops.dev"]
  resources: ["drspausewindows"]
  verbs: ["list", "watch"]
- apiGroups: ["drs.cloudops.dev"]
  resources: ["drspausewindows/status"]
  verbs: ["patch"]
- apiGroups: ["drs.cloudops.dev"]
  resources: ["drspausewindows/finalizers"]
  verbs: ["update"]
- apiGroups: ["drs.cloudops.dev"]
  resources: ["drsjobpauses"]
  verbs: ["create", "delete"]
# One core/v1 Event per transition (Paused, Failed, Stalled reasons...) on the object.
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create"]
{{- include "drs-pause-operator.credentialsSecretsRule" . }}
{{- end }}

{{/*
Does a rule above already let the operator get the default credentials Secret? Then the extra
Role for it would be redundant ("true" or "").
*/}}
{{- define "drs-pause-operator.defaultSecretCovered" -}}
{{- $cs := .Values.rbac.credentialsSecrets -}}
{{- if and $cs.enabled (or (not $cs.names) (has .Values.defaultCredentials.secretName $cs.names)) -}}
{{- if or (not .Values.watchNamespaces) (has .Release.Namespace .Values.watchNamespaces) -}}
true
{{- end -}}
{{- end -}}
{{- end }}

{{/* The leader-election Lease: operator.leaseName, else the release's full name (two releases
in one namespace never share a Lease). Its namespace: operator.leaseNamespace, else the
release namespace (the pod's). */}}
{{- define "drs-pause-operator.leaseName" -}}
{{- default (include "drs-pause-operator.fullname" .) .Values.operator.leaseName }}
{{- end }}

{{- define "drs-pause-operator.leaseNamespace" -}}
{{- default .Release.Namespace .Values.operator.leaseNamespace }}
{{- end }}

{{/*
A Prometheus duration (values.schema.json: e.g. 90s, 15m, 20h, 1d12h) in seconds, for alert
expressions that compare timestamps with time().
*/}}
{{- define "drs-pause-operator.seconds" -}}
{{- $unit := dict "w" 604800 "d" 86400 "h" 3600 "m" 60 "s" 1 -}}
{{- $total := 0 -}}
{{- range regexFindAll "[0-9]+[wdhms]" . -1 -}}
{{- $total = add $total (mul (trimSuffix (regexFind "[wdhms]$" .) . | atoi) (get $unit (regexFind "[wdhms]$" .))) -}}
{{- end -}}
{{- $total -}}
{{- end }}
