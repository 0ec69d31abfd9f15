{{- define "vpsie-autoscaler.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "vpsie-autoscaler.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "vpsie-autoscaler.labels" -}}
{{ include "vpsie-autoscaler.selectorLabels" . }}
app.kubernetes.io/part-of: {{ .Chart.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "vpsie-autoscaler.metadata" -}}
name: {{ include "vpsie-autoscaler.fullname" . }}
namespace: {{ .Release.Namespace }}
labels:
  {{- include "vpsie-autoscaler.labels" . | nindent 2 }}
{{- end -}}

{{- define "vpsie-autoscaler.serviceAccountName" -}}
{{- default (include "vpsie-autoscaler.fullname" .) .Values.serviceAccount.name -}}
{{- end -}}

{{- define "vpsie-autoscaler.secretName" -}}
{{- default (include "vpsie-autoscaler.fullname" .) .Values.secretName -}}
{{- end -}}
