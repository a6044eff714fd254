{{/* Names and shared pieces of the helhet chart. */}}

{{- define "helhet.fullname" -}}
{{- printf "%s-helhet" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "helhet.labels" -}}
app.kubernetes.io/name: helhet
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "helhet.selector" -}}
app.kubernetes.io/name: helhet
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "helhet.image" -}}
{{ printf "%s:%s" .Values.image.repository .Values.image.tag | quote }}
{{- end -}}

{{/* Environment for every helhet container: config path, database URL, Kafka, overrides. */}}
{{- define "helhet.env" -}}
- name: HELHET_CONFIG
  value: /etc/helhet/helhet.toml
- name: HELHET_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.secrets.database }}
      key: {{ .Values.secrets.databaseKey }}
- name: HELHET_KAFKA_BOOTSTRAP_SERVERS
  value: {{ .Values.kafka.bootstrapServers | quote }}
{{- range $key, $value := .Values.env }}
- name: {{ $key }}
  value: {{ $value | quote }}
{{- end }}
{{- end -}}

{{/* Mounts: config (read-only), keys (read-only secret), agency public keys, /tmp. */}}
{{- define "helhet.volumeMounts" -}}
- name: config
  mountPath: /etc/helhet/helhet.toml
  subPath: helhet.toml
  readOnly: true
- name: keys
  mountPath: /etc/helhet/keys
  readOnly: true
- name: agency-keys
  mountPath: /etc/helhet/agency-keys
  readOnly: true
- name: tmp
  mountPath: /tmp
{{- end -}}

{{- define "helhet.volumes" -}}
- name: config
  configMap:
    name: {{ include "helhet.fullname" . }}-config
- name: keys
  secret:
    secretName: {{ .Values.secrets.keys }}
    defaultMode: 0440
- name: agency-keys
  configMap:
    name: {{ .Values.agencyKeysConfigMap }}
- name: tmp
  emptyDir: {}
{{- end -}}
