{{/* Labels of every object; `name` is the service (or component) name. */}}
{{- define "pr.labels" -}}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/part-of: productresearch
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end }}

{{- define "pr.selector" -}}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end }}

{{/* Image of a binary: registry/name:tag, or @digest when the service pins one. */}}
{{- define "pr.image" -}}
{{- $svc := .svc | default dict -}}
{{- $digest := (($svc.image | default dict).digest) | default "" -}}
{{- if $digest -}}
{{ .root.Values.image.registry }}/{{ .name }}@{{ $digest }}
{{- else -}}
{{ .root.Values.image.registry }}/{{ .name }}:{{ .root.Values.image.tag }}
{{- end -}}
{{- end }}

{{- define "pr.apiKeySecret" -}}
{{- .Values.secrets.existingSecret | default (printf "%s-api-keys" .Release.Name) -}}
{{- end }}

{{- define "pr.tokensSecret" -}}
{{- .Values.auth.existingSecret | default (printf "%s-api-tokens" .Release.Name) -}}
{{- end }}

{{- define "pr.hasModelKey" -}}
{{- if or .Values.secrets.existingSecret .Values.secrets.modelApiKey }}true{{ end -}}
{{- end }}

{{/* In-cluster URL of a service's API port. */}}
{{- define "pr.url" -}}
{{- $svc := index .root.Values.services .name -}}
{{- if .root.Values.tls.enabled -}}
https://{{ .name }}.{{ .root.Release.Namespace }}.svc.cluster.local:{{ $svc.port }}
{{- else -}}
http://{{ .name }}.{{ .root.Release.Namespace }}.svc.cluster.local:{{ $svc.port }}
{{- end -}}
{{- end }}

{{/* A client section (crates/runtime ClientConfig) for calls to `name`. */}}
{{- define "pr.client" -}}
{{- $c := dict "endpoints" (list (include "pr.url" .)) -}}
{{- if (index .root.Values.services .name).headless -}}
{{- /* A headless Service: re-resolve and balance across every pod. */ -}}
{{- $_ := set $c "dns_refresh_secs" (int .root.Values.dnsRefreshSecs) -}}
{{- end -}}
{{- if .root.Values.tls.enabled -}}
{{- $dir := .root.Values.tls.mountPath -}}
{{- $_ := set $c "tls" (dict "ca_file" (printf "%s/ca.crt" $dir) "cert_file" (printf "%s/tls.crt" $dir) "key_file" (printf "%s/tls.key" $dir)) -}}
{{- end -}}
{{- toJson $c -}}
{{- end }}

{{/* The model endpoint: model.baseUrl, else the chart's model-server, else a render error. */}}
{{- define "pr.modelUrl" -}}
{{- if .Values.model.baseUrl -}}
{{ .Values.model.baseUrl }}
{{- else if .Values.modelServer.enabled -}}
http://model-server:{{ .Values.modelServer.port }}/v1
{{- else -}}
{{ fail "model.baseUrl is required: set it to your OpenAI-compatible endpoint (e.g. --set model.baseUrl=http://vllm.models.svc.cluster.local:8000/v1 and model.egress for the NetworkPolicy), or set modelServer.enabled=true to run one in the namespace" }}
{{- end -}}
{{- end }}

{{/* The services that call the model (and get its API key). */}}
{{- define "pr.modelUsers" -}}
{{- toJson (list "user-agent" "supervisor" "research-agent" "distiller") -}}
{{- end }}

{{/* The model endpoint section (crates/llm EndpointConfig). */}}
{{- define "pr.llm" -}}
{{- $m := dict "base_url" (include "pr.modelUrl" .) "model" .Values.model.name "tool_mode" .Values.model.toolMode "timeout_secs" (int .Values.model.timeoutSecs) -}}
{{- if include "pr.hasModelKey" . -}}
{{- $_ := set $m "api_key_env" "MODEL_API_KEY" -}}
{{- end -}}
{{- toJson $m -}}
{{- end }}

{{/* The full TOML config of service `name`. */}}
{{- define "pr.serviceConfig" -}}
{{- $root := .root -}}
{{- $svc := index $root.Values.services .name -}}
{{- $server := deepCopy $root.Values.common.server -}}
{{- $_ := set $server "health_listen" (printf "0.0.0.0:%d" (int ($svc.healthPort | default $root.Values.health.port))) -}}
{{- $_ := set $server "drain_delay_secs" (int $root.Values.shutdown.drainDelaySecs) -}}
{{- if $root.Values.tls.enabled -}}
{{- $dir := $root.Values.tls.mountPath -}}
{{- $_ := set $server "tls" (dict "cert_file" (printf "%s/tls.crt" $dir) "key_file" (printf "%s/tls.key" $dir) "client_ca_file" (printf "%s/ca.crt" $dir)) -}}
{{- end -}}
{{- if and $svc.external $root.Values.auth.enabled -}}
{{- $_ := set $server "auth" (dict "bearer_tokens_file" (printf "%s/tokens" $root.Values.auth.mountPath)) -}}
{{- end -}}
{{- $cfg := deepCopy ($svc.config | default dict) -}}
{{- $_ := set $cfg "server" $server -}}
{{- $_ := set $cfg "telemetry" (deepCopy $root.Values.common.telemetry) -}}
{{- if has .name (list "user-agent" "supervisor" "research-agent") -}}
{{- $_ := set $cfg "llm" (include "pr.llm" $root | fromJson) -}}
{{- end -}}
{{- if eq .name "supervisor" -}}
{{- $_ := set $cfg "user_agent" (include "pr.client" (dict "root" $root "name" "user-agent") | fromJson) -}}
{{- $_ := set $cfg "research_agent" (include "pr.client" (dict "root" $root "name" "research-agent") | fromJson) -}}
{{- $_ := set $cfg "tool_gateway" (include "pr.client" (dict "root" $root "name" "tool-gateway") | fromJson) -}}
{{- end -}}
{{- if and (eq .name "supervisor") $svc.records.url -}}
{{- $_ := set $cfg "records_url" $svc.records.url -}}
{{- end -}}
{{- if eq .name "research-agent" -}}
{{- $_ := set $cfg "tool_gateway" (include "pr.client" (dict "root" $root "name" "tool-gateway") | fromJson) -}}
{{- end -}}
{{- if and $root.Values.prompts.templates (has .name $root.Values.prompts.services) -}}
{{- $_ := set $cfg $root.Values.prompts.configKey $root.Values.prompts.mountPath -}}
{{- end -}}
{{- include "pr.intify" $cfg -}}
{{- toToml $cfg -}}
{{- end }}

{{/* Pod-level settings every workload shares. */}}
{{- define "pr.podCommon" -}}
automountServiceAccountToken: false
serviceAccountName: {{ include "pr.serviceAccount" . }}
# No service-link variables (the binaries ignore them anyway; see
# crates/runtime/src/config.rs): fewer variables, no name clashes.
enableServiceLinks: false
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* Environment every service container gets: its OTel name, the OTLP endpoint and API keys. */}}
{{- define "pr.env" -}}
- name: OTEL_SERVICE_NAME
  value: {{ .name }}
{{- if .root.Values.otlp.endpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ .root.Values.otlp.endpoint | quote }}
{{- end }}
{{- if and (include "pr.hasModelKey" .root) (has .name (include "pr.modelUsers" .root | fromJsonArray)) }}
- name: MODEL_API_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "pr.apiKeySecret" .root }}
      key: MODEL_API_KEY
{{- end }}
{{- if and (eq .name "tool-gateway") (or .root.Values.secrets.existingSecret .root.Values.secrets.searchApiKey) }}
- name: SEARCH_API_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "pr.apiKeySecret" .root }}
      key: SEARCH_API_KEY
      optional: true
{{- end }}
{{- if and (eq .name "supervisor") (index .root.Values.services "supervisor").records.url }}
{{- $s3 := (index .root.Values.services "supervisor").records.s3 }}
{{- with $s3.endpoint }}
- name: AWS_ENDPOINT
  value: {{ . | quote }}
{{- end }}
{{- with $s3.region }}
- name: AWS_REGION
  value: {{ . | quote }}
{{- end }}
{{- if $s3.allowHttp }}
- name: AWS_ALLOW_HTTP
  value: "true"
{{- end }}
{{- with $s3.existingSecret }}
- name: AWS_ACCESS_KEY_ID
  valueFrom:
    secretKeyRef: {name: {{ . }}, key: AWS_ACCESS_KEY_ID}
- name: AWS_SECRET_ACCESS_KEY
  valueFrom:
    secretKeyRef: {name: {{ . }}, key: AWS_SECRET_ACCESS_KEY}
{{- end }}
{{- end }}
{{- end }}

{{- define "pr.serviceAccount" -}}
{{- .Values.serviceAccount.name | default "productresearch" -}}
{{- end }}

{{/* Scheduling of a service pod (`scheduling`, overridden by services.<name>.scheduling). */}}
{{- define "pr.scheduling" -}}
{{- $s := mergeOverwrite (deepCopy .root.Values.scheduling) (deepCopy (.svc.scheduling | default dict)) -}}
{{- with $s.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with $s.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $s.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $s.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $s.topologySpreadConstraints }}
topologySpreadConstraints:
  {{- range . }}
  {{- $c := deepCopy . }}
  {{- if not $c.labelSelector }}
  {{- $_ := set $c "labelSelector" (dict "matchLabels" (include "pr.selector" $ | fromYaml)) }}
  {{- end }}
  - {{- toYaml $c | nindent 4 }}
  {{- end }}
{{- end }}
{{- end }}

{{/* Egress rule to the model endpoint. */}}
{{- define "pr.modelEgress" -}}
- to:
    {{- if .Values.model.egress.ipBlock }}
    - ipBlock:
        cidr: {{ .Values.model.egress.ipBlock }}
    {{- else }}
    - {{- with .Values.model.egress.namespaceSelector }}
      namespaceSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      podSelector:
        {{- toYaml .Values.model.egress.podSelector | nindent 8 }}
    {{- end }}
  ports:
    - {protocol: TCP, port: {{ .Values.model.egress.port }}}
{{- end }}

{{/* A peer of the same release, for NetworkPolicy rules. */}}
{{- define "pr.peer" -}}
- podSelector:
    matchLabels:
      app.kubernetes.io/name: {{ .name }}
      app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end }}

{{/* Turns whole-number floats (YAML and fromJson give float64) into integers,
     in place, so toToml writes `6`, not `6.0`: the services' u32 fields reject floats. */}}
{{- define "pr.intify" -}}
{{- range $k, $v := . -}}
{{- if kindIs "map" $v -}}
{{- include "pr.intify" $v -}}
{{- else if and (kindIs "float64" $v) (eq $v (float64 (int64 $v))) -}}
{{- $_ := set $ $k (int64 $v) -}}
{{- end -}}
{{- end -}}
{{- end }}

{{/* The DNS names a service's certificate carries (YAML list). */}}
{{- define "pr.certNames" -}}
- {{ .name }}
- {{ .name }}.{{ .ns }}
- {{ .name }}.{{ .ns }}.svc
- {{ .name }}.{{ .ns }}.svc.cluster.local
{{- end }}

{{/* Resources, security and mounts of a `helm test` container. */}}
{{- define "pr.testContainer" -}}
resources:
  requests: {cpu: 10m, memory: 32Mi}
  limits: {cpu: 200m, memory: 64Mi}
securityContext:
  {{- toYaml .Values.containerSecurityContext | nindent 2 }}
{{- if .Values.tls.enabled }}
volumeMounts:
  - name: tls
    mountPath: /tls
    readOnly: true
{{- end }}
{{- end }}
