{{- define "connectors-csi.labels" -}}
app.kubernetes.io/name: connectors-csi
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end -}}
{{- define "connectors-csi.selector" -}}
app.kubernetes.io/name: connectors-csi
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}
