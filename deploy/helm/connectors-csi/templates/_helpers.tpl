{{- define "connectors-csi.labels" -}}
{{ include "connectors-csi.selector" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end -}}

{{/* Immutable on the DaemonSet: never add a label that changes on upgrade. */}}
{{- define "connectors-csi.selector" -}}
app.kubernetes.io/name: connectors-csi
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "connectors-csi.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* The socket directory kubelet dials, under its plugins directory. */}}
{{- define "connectors-csi.pluginDir" -}}
{{ .Values.kubeletRootDir }}/plugins/{{ .Values.driverName }}
{{- end -}}

{{/* Kubelet passes tokens in `secrets` only from Kubernetes 1.35. */}}
{{- define "connectors-csi.tokensInSecrets" -}}
{{- if and .Values.serviceAccountTokenInSecrets (semverCompare ">=1.35-0" .Capabilities.KubeVersion.Version) -}}
true
{{- end -}}
{{- end -}}

{{/* The sidecars only dial the socket and serve HTTP: no privilege at all. */}}
{{- define "connectors-csi.sidecarSecurity" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities: {drop: [ALL]}
{{- end -}}
