{{/* Names, labels and the few decisions several templates share. */}}

{{- define "resetbot.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "resetbot.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "resetbot.selectorLabels" -}}
app.kubernetes.io/name: {{ include "resetbot.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "resetbot.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "resetbot.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "resetbot.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- .Values.serviceAccount.name | default (include "resetbot.fullname" .) -}}
{{- else -}}
{{- .Values.serviceAccount.name | default "default" -}}
{{- end -}}
{{- end -}}

{{/* Replicas: as set, else 2 on PostgreSQL and 1 on SQLite (the schema refuses more on SQLite). */}}
{{- define "resetbot.replicas" -}}
{{- if not (kindIs "invalid" .Values.replicaCount) -}}
{{- .Values.replicaCount -}}
{{- else if eq .Values.store.kind "sqlite" -}}
1
{{- else -}}
2
{{- end -}}
{{- end -}}

{{- define "resetbot.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}
{{- end -}}

{{/* The Secret the pod reads its secret settings from: the one given, or the one Key Vault fills. */}}
{{- define "resetbot.secretName" -}}
{{- if .Values.secrets.keyVault.enabled -}}
{{- printf "%s-keyvault" (include "resetbot.fullname" .) -}}
{{- else -}}
{{- .Values.secrets.existingSecret -}}
{{- end -}}
{{- end -}}
