{{/* The release's name for its objects. */}}
{{- define "varstream.fullname" -}}
{{- printf "%s-varstream" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels of every object; `component` is ingest, etl or sink-writer-<name>. */}}
{{- define "varstream.labels" -}}
app.kubernetes.io/name: varstream
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "varstream.selector" -}}
app.kubernetes.io/name: varstream
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* The environment every service shares. */}}
{{- define "varstream.env" -}}
- name: CONFIG_PATH
  value: /etc/varstream/{{ .Values.bundle.fileName }}
- name: KAFKA_BROKERS
  value: {{ .Values.kafka.brokers | quote }}
- name: TOPIC_PREFIX
  value: {{ .Values.kafka.topicPrefix | quote }}
- name: TOPIC_PARTITIONS
  value: {{ .Values.kafka.topicPartitions | quote }}
- name: TOPIC_REPLICATION_FACTOR
  value: {{ .Values.kafka.replicationFactor | quote }}
- name: TOPIC_MIN_INSYNC_REPLICAS
  value: {{ .Values.kafka.minInsyncReplicas | quote }}
{{- if .Values.kafka.tlsSecret }}
- name: KAFKA_TLS_CA_FILE
  value: /etc/varstream/kafka-tls/ca.crt
{{- if .Values.kafka.tlsClientCert }}
- name: KAFKA_TLS_CERT_FILE
  value: /etc/varstream/kafka-tls/tls.crt
- name: KAFKA_TLS_KEY_FILE
  value: /etc/varstream/kafka-tls/tls.key
{{- end }}
{{- end }}
{{- range $k, $v := .Values.kafka.security }}
- name: {{ $k }}
  value: {{ $v | quote }}
{{- end }}
{{- range $k, $v := .Values.env }}
- name: {{ $k }}
  value: {{ $v | quote }}
{{- end }}
{{- end -}}

{{- define "varstream.envFrom" -}}
{{- range .Values.secretRefs }}
- secretRef:
    name: {{ . }}
{{- end }}
{{- end -}}

{{- define "varstream.bundleConfigMap" -}}
{{- .Values.bundle.existingConfigMap | default (printf "%s-bundle" (include "varstream.fullname" .)) -}}
{{- end -}}

{{/* The pod spec's shared parts: security context, the bundle volume. */}}
{{- define "varstream.volumes" -}}
- name: bundle
  configMap:
    name: {{ include "varstream.bundleConfigMap" . }}
- name: cache
  emptyDir: {}
{{- if .Values.kafka.tlsSecret }}
- name: kafka-tls
  secret:
    secretName: {{ .Values.kafka.tlsSecret }}
{{- end }}
{{- end -}}

{{- define "varstream.volumeMounts" -}}
- name: bundle
  mountPath: /etc/varstream
  readOnly: true
- name: cache
  mountPath: /var/cache/varstream
{{- if .Values.kafka.tlsSecret }}
- name: kafka-tls
  mountPath: /etc/varstream/kafka-tls
  readOnly: true
{{- end }}
{{- end -}}
