{{/*
Names are fixed (rktsched-labeler, rktsched-extender, rktsched-scheduler, rktsched-policy): the
binaries, the scheduler configurations, the schedulerName and the Leases refer to them, and
rktsched runs once per cluster.
*/}}

{{- define "rktsched.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}
{{- end -}}

{{/* Labels of every object; include with the component's name. */}}
{{- define "rktsched.labels" -}}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/component: {{ .component }}
app.kubernetes.io/part-of: rktsched
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/version: {{ .root.Values.image.tag | default .root.Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end -}}

{{/* The pod security context of both Deployments: the restricted Pod Security Standard. */}}
{{- define "rktsched.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "rktsched.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
{{- end -}}

{{/* rktsched-scheduler's image (scheduler.image), by digest when one is given. */}}
{{- define "rktsched.schedulerImage" -}}
{{- with .Values.scheduler.image -}}
{{- if .digest -}}
{{ .repository }}@{{ .digest }}
{{- else -}}
{{ .repository }}:{{ .tag | default $.Chart.AppVersion }}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
rktsched-scheduler's KubeSchedulerConfiguration: manifests/second-scheduler's, with the Lease
and the policy ConfigMap in the release's namespace (a test compares them).
*/}}
{{- define "rktsched.schedulerConfig" -}}
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
leaderElection:
  leaderElect: true
  resourceNamespace: {{ .Release.Namespace }}
  resourceName: rktsched-scheduler
profiles:
- schedulerName: rktsched-scheduler
  plugins:
    multiPoint:
      enabled:
      - name: Rktsched
        weight: 1
  pluginConfig:
  - name: Rktsched
    args:
      policyConfigMapNamespace: {{ .Release.Namespace }}
      policyConfigMapName: rktsched-policy
{{- end -}}
