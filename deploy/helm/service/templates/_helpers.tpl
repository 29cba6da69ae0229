{{/*
The service's short name: nameOverride, else serviceName (required; the schema also insists).
*/}}
{{- define "service.name" -}}
{{- $name := default .Values.serviceName .Values.nameOverride -}}
{{- required "serviceName is required: the Pulse service this release runs, e.g. --set serviceName=ingest (or -f deploy/helm/values/ingest.yaml)" $name | trunc 63 | trimSuffix "-" -}}
{{- end }}

{{/*
Full name of the release's resources: fullnameOverride, else the release name when it already contains the
service name (`helm install ingest ...` gives `ingest`), else `<release>-<service>` (`pulse-ingest` in a platform install).
*/}}
{{- define "service.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "service.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end }}

{{/* Name of the headless Service that gRPC clients resolve with dns:///. */}}
{{- define "service.headlessName" -}}
{{- printf "%s-headless" (include "service.fullname" . | trunc 54 | trimSuffix "-") -}}
{{- end }}

{{- define "service.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end }}

{{/* Labels of every resource. */}}
{{- define "service.labels" -}}
helm.sh/chart: {{ include "service.chart" . }}
{{ include "service.selectorLabels" . }}
app.kubernetes.io/version: {{ include "service.imageTag" . | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/component: {{ .Values.serviceName | quote }}
app.kubernetes.io/part-of: pulse
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Labels that select the release's pods; never change them after the first install. */}}
{{- define "service.selectorLabels" -}}
app.kubernetes.io/name: {{ include "service.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* commonAnnotations merged with a resource's own annotations (passed as .extra). */}}
{{- define "service.annotations" -}}
{{- $all := merge (deepCopy (default (dict) .extra)) (deepCopy (default (dict) .context.Values.commonAnnotations)) -}}
{{- with $all -}}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end -}}
{{- end }}

{{- define "service.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "service.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end }}

{{- define "service.imageTag" -}}
{{- default .Chart.AppVersion .Values.image.tag -}}
{{- end }}

{{/* registry/repository:tag or registry/repository@digest; repository defaults to pulse/<serviceName>. */}}
{{- define "service.image" -}}
{{- $registry := default .Values.image.registry .Values.global.imageRegistry -}}
{{- $repository := default (printf "pulse/%s" .Values.serviceName) .Values.image.repository -}}
{{- $ref := ternary (printf "%s@%s" $repository .Values.image.digest) (printf "%s:%s" $repository (include "service.imageTag" .)) (ne .Values.image.digest "") -}}
{{- if $registry -}}
{{- printf "%s/%s" $registry $ref -}}
{{- else -}}
{{- $ref -}}
{{- end -}}
{{- end }}

{{- define "service.imagePullSecrets" -}}
{{- $secrets := concat (default (list) .Values.global.imagePullSecrets) (default (list) .Values.imagePullSecrets) | uniq -}}
{{- if $secrets }}
imagePullSecrets:
{{- range $secrets }}
  - name: {{ . | quote }}
{{- end }}
{{- end }}
{{- end }}

{{- define "service.grpcServicePort" -}}
{{- default .Values.containerPorts.grpc .Values.service.ports.grpc -}}
{{- end }}

{{- define "service.httpServicePort" -}}
{{- default .Values.containerPorts.http .Values.service.ports.http -}}
{{- end }}

{{/*
Resolved infrastructure settings: the service's own field, else the same field under global.
Returns YAML: a dict per store.
*/}}
{{- define "service.infra" -}}
{{- $g := default (dict) .Values.global -}}
{{- $gk := default (dict) $g.kafka -}}
{{- $gr := default (dict) $g.redis -}}
{{- $gc := default (dict) $g.cassandra -}}
{{- $gp := default (dict) $g.postgresql -}}
{{- $go := default (dict) $g.opensearch -}}
{{- $gt := default (dict) $g.tracing -}}
{{- $gl := default (dict) $g.logShipping -}}
kafka:
  brokers: {{ default $gk.brokers .Values.kafka.brokers | default "" | quote }}
  replicationFactor: {{ default $gk.replicationFactor .Values.kafka.replicationFactor | default 3 | int64 }}
  minInsyncReplicas: {{ default $gk.minInsyncReplicas .Values.kafka.minInsyncReplicas | default 2 | int64 }}
redis:
  url: {{ default $gr.url .Values.redis.url | default "" | quote }}
  existingSecret: {{ default $gr.existingSecret .Values.redis.existingSecret | default "" | quote }}
  existingSecretPasswordKey: {{ default $gr.existingSecretPasswordKey .Values.redis.existingSecretPasswordKey | default "" | quote }}
  existingSecretUrlKey: {{ default $gr.existingSecretUrlKey .Values.redis.existingSecretUrlKey | default "" | quote }}
cassandra:
  contactPoints: {{ default $gc.contactPoints .Values.cassandra.contactPoints | default "" | quote }}
  localDc: {{ default $gc.localDc .Values.cassandra.localDc | default "" | quote }}
  existingSecret: {{ default $gc.existingSecret .Values.cassandra.existingSecret | default "" | quote }}
  existingSecretUsernameKey: {{ default $gc.existingSecretUsernameKey .Values.cassandra.existingSecretUsernameKey | default "username" | quote }}
  existingSecretPasswordKey: {{ default $gc.existingSecretPasswordKey .Values.cassandra.existingSecretPasswordKey | default "password" | quote }}
  tlsSecret: {{ default $gc.tlsSecret .Values.cassandra.tlsSecret | default "" | quote }}
postgresql:
  url: {{ default $gp.url .Values.postgresql.url | default "" | quote }}
  existingSecret: {{ default $gp.existingSecret .Values.postgresql.existingSecret | default "" | quote }}
  existingSecretPasswordKey: {{ default $gp.existingSecretPasswordKey .Values.postgresql.existingSecretPasswordKey | default "" | quote }}
  existingSecretUrlKey: {{ default $gp.existingSecretUrlKey .Values.postgresql.existingSecretUrlKey | default "" | quote }}
opensearch:
  url: {{ default $go.url .Values.opensearch.url | default "" | quote }}
tracing:
  enabled: {{ $gt.enabled | default false }}
  otlpUrl: {{ $gt.otlpUrl | default "" | quote }}
  sampleRatio: {{ $gt.sampleRatio | default "0.1" | quote }}
logShipping:
  enabled: {{ $gl.enabled | default false }}
{{- end }}

{{/*
Environment variables the chart derives from other values; `env` and `secretEnv` may not set them.
*/}}
{{- define "service.reservedEnv" -}}
SERVICE_NAME GRPC_PORT HTTP_PORT LOG_LEVEL KAFKA_BROKERS KAFKA_REPLICATION_FACTOR KAFKA_MIN_INSYNC_REPLICAS REDIS_URL REDIS_PASSWORD CASSANDRA_CONTACT_POINTS CASSANDRA_LOCAL_DC CASSANDRA_USERNAME CASSANDRA_PASSWORD CASSANDRA_TLS CASSANDRA_TLS_CA_FILE CASSANDRA_TLS_CERT_FILE CASSANDRA_TLS_KEY_FILE PG_URL PG_PASSWORD OPENSEARCH_URL TRACING_ENABLED TRACING_OTLP_URL TRACING_SAMPLE_RATIO LOG_SHIPPING_ENABLED LOG_SHIPPING_BROKERS PULSE_AUTH PULSE_AUTH_PG_URL PULSE_AUTH_PG_PASSWORD PULSE_AUTH_PG_SCHEMA PULSE_AUTH_KEY_CACHE_TTL PULSE_AUTH_KEY_STALE_IF_ERROR PULSE_AUTH_JWKS_URL PULSE_AUTH_JWT_ISSUER PULSE_AUTH_JWT_AUDIENCE PULSE_API_KEY GRPC_REFLECTION GRPC_TLS_CERT_FILE GRPC_TLS_KEY_FILE GRPC_TLS_CA_FILE GRPC_TLS_CLIENT_AUTH GRPC_TLS_RELOAD_INTERVAL
{{- end }}

{{/* A value rendered as an environment string: whole numbers without exponent, templates expanded. */}}
{{- define "service.envString" -}}
{{- $v := .value -}}
{{- if or (kindIs "float64" $v) (kindIs "float32" $v) (kindIs "int" $v) (kindIs "int64" $v) -}}
{{- printf "%d" (int64 $v) -}}
{{- else if kindIs "bool" $v -}}
{{- ternary "true" "false" $v -}}
{{- else -}}
{{- tpl (toString $v) .context -}}
{{- end -}}
{{- end }}

{{/*
The ConfigMap's data: derived variables first, then `env`. Fails on a reserved name, on a name that looks like a
secret and on a URL with a password in it, so that a secret never lands in a ConfigMap.
*/}}
{{- define "service.configData" -}}
{{- $infra := include "service.infra" . | fromYaml -}}
{{- $data := dict -}}
{{- $_ := set $data "SERVICE_NAME" .Values.serviceName -}}
{{- if .Values.containerPorts.grpc -}}
{{- $_ = set $data "GRPC_PORT" (printf "%d" (int64 .Values.containerPorts.grpc)) -}}
{{- end -}}
{{- $_ = set $data "HTTP_PORT" (printf "%d" (int64 .Values.containerPorts.http)) -}}
{{- $_ = set $data "LOG_LEVEL" .Values.logLevel -}}
{{- if .Values.kafka.enabled -}}
{{- $_ = set $data "KAFKA_BROKERS" (required "kafka.enabled needs kafka.brokers or global.kafka.brokers (host:port,...)" $infra.kafka.brokers) -}}
{{- if gt (int64 $infra.kafka.minInsyncReplicas) (int64 $infra.kafka.replicationFactor) -}}
{{- fail (printf "kafka.minInsyncReplicas %d is above kafka.replicationFactor %d: every acks=all write would be refused" (int64 $infra.kafka.minInsyncReplicas) (int64 $infra.kafka.replicationFactor)) -}}
{{- end -}}
{{- $_ = set $data "KAFKA_REPLICATION_FACTOR" (printf "%d" (int64 $infra.kafka.replicationFactor)) -}}
{{- $_ = set $data "KAFKA_MIN_INSYNC_REPLICAS" (printf "%d" (int64 $infra.kafka.minInsyncReplicas)) -}}
{{- end -}}
{{- if and .Values.redis.enabled (eq (include "service.secretUrlMode" $infra.redis) "plain") -}}
{{- $_ = set $data "REDIS_URL" (required "redis.enabled needs redis.url or global.redis.url (or existingSecret with existingSecretUrlKey)" $infra.redis.url) -}}
{{- end -}}
{{- if .Values.cassandra.enabled -}}
{{- $_ = set $data "CASSANDRA_CONTACT_POINTS" (required "cassandra.enabled needs cassandra.contactPoints or global.cassandra.contactPoints (host:port,...)" $infra.cassandra.contactPoints) -}}
{{- $_ = set $data "CASSANDRA_LOCAL_DC" (required "cassandra.enabled needs cassandra.localDc or global.cassandra.localDc" $infra.cassandra.localDc) -}}
{{- if $infra.cassandra.tlsSecret -}}
{{- $_ = set $data "CASSANDRA_TLS_CA_FILE" "/etc/pulse/cassandra-tls/ca.crt" -}}
{{- if .Values.cassandra.tlsClientCertificate -}}
{{- $_ = set $data "CASSANDRA_TLS_CERT_FILE" "/etc/pulse/cassandra-tls/tls.crt" -}}
{{- $_ = set $data "CASSANDRA_TLS_KEY_FILE" "/etc/pulse/cassandra-tls/tls.key" -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if and .Values.postgresql.enabled (eq (include "service.secretUrlMode" $infra.postgresql) "plain") -}}
{{- $_ = set $data "PG_URL" (required "postgresql.enabled needs postgresql.url or global.postgresql.url (or existingSecret with existingSecretUrlKey)" $infra.postgresql.url) -}}
{{- end -}}
{{- if .Values.opensearch.enabled -}}
{{- $_ = set $data "OPENSEARCH_URL" (required "opensearch.enabled needs opensearch.url or global.opensearch.url" $infra.opensearch.url) -}}
{{- end -}}
{{- $_ = set $data "TRACING_ENABLED" (ternary "true" "false" $infra.tracing.enabled) -}}
{{- if $infra.tracing.enabled -}}
{{- $_ = set $data "TRACING_OTLP_URL" (required "global.tracing.enabled needs global.tracing.otlpUrl" $infra.tracing.otlpUrl) -}}
{{- $_ = set $data "TRACING_SAMPLE_RATIO" $infra.tracing.sampleRatio -}}
{{- end -}}
{{- $_ = set $data "LOG_SHIPPING_ENABLED" (ternary "true" "false" $infra.logShipping.enabled) -}}
{{- if $infra.logShipping.enabled -}}
{{- $_ = set $data "LOG_SHIPPING_BROKERS" (required "global.logShipping.enabled needs kafka.brokers or global.kafka.brokers (host:port,...)" $infra.kafka.brokers) -}}
{{- end -}}
{{- $auth := .Values.auth -}}
{{- $_ = set $data "PULSE_AUTH" (ternary "on" "off" $auth.enabled) -}}
{{- $_ = set $data "GRPC_REFLECTION" (ternary "true" "false" .Values.grpcReflection) -}}
{{- if .Values.grpcTls.enabled -}}
{{- $_ = set $data "GRPC_TLS_CERT_FILE" "/etc/pulse/tls/tls.crt" -}}
{{- $_ = set $data "GRPC_TLS_KEY_FILE" "/etc/pulse/tls/tls.key" -}}
{{- $_ = set $data "GRPC_TLS_CA_FILE" "/etc/pulse/tls/ca.crt" -}}
{{- $_ = set $data "GRPC_TLS_CLIENT_AUTH" .Values.grpcTls.clientAuth -}}
{{- $_ = set $data "GRPC_TLS_RELOAD_INTERVAL" .Values.grpcTls.reloadInterval -}}
{{- end -}}
{{- if $auth.enabled -}}
{{- if and (not $auth.apiKeys.enabled) (not $auth.jwt.jwksUrl) -}}
{{- fail "auth.enabled needs auth.apiKeys.enabled or auth.jwt.jwksUrl: a caller must have a way to authenticate" -}}
{{- end -}}
{{- if $auth.apiKeys.enabled -}}
{{- if eq (include "service.secretUrlMode" $infra.postgresql) "plain" -}}
{{- $_ = set $data "PULSE_AUTH_PG_URL" (required "auth.apiKeys.enabled needs postgresql.url or global.postgresql.url (or existingSecret with existingSecretUrlKey): the API keys are there" $infra.postgresql.url) -}}
{{- end -}}
{{- $_ = set $data "PULSE_AUTH_PG_SCHEMA" $auth.apiKeys.schema -}}
{{- $_ = set $data "PULSE_AUTH_KEY_CACHE_TTL" $auth.apiKeys.cacheTtl -}}
{{- $_ = set $data "PULSE_AUTH_KEY_STALE_IF_ERROR" $auth.apiKeys.staleIfError -}}
{{- else -}}
{{- $_ = set $data "PULSE_AUTH_PG_URL" "" -}}
{{- end -}}
{{- with $auth.jwt.jwksUrl -}}
{{- $_ = set $data "PULSE_AUTH_JWKS_URL" . -}}
{{- $_ = set $data "PULSE_AUTH_JWT_ISSUER" (required "auth.jwt.jwksUrl needs auth.jwt.issuer" $auth.jwt.issuer) -}}
{{- $_ = set $data "PULSE_AUTH_JWT_AUDIENCE" (required "auth.jwt.jwksUrl needs auth.jwt.audience" $auth.jwt.audience) -}}
{{- end -}}
{{- end -}}
{{- $reserved := splitList " " (include "service.reservedEnv" .) -}}
{{- range $name, $value := .Values.env -}}
{{- if has $name $reserved -}}
{{- fail (printf "env.%s is set by the chart from other values (serviceName, containerPorts, logLevel, kafka, redis, cassandra, postgresql, opensearch, global.tracing, global.logShipping, auth, grpcReflection, grpcTls): set those instead" $name) -}}
{{- end -}}
{{- if regexMatch "PASSWORD|PASSWD|SECRET|TOKEN|PRIVATE_KEY|API_KEY|CREDENTIALS" $name -}}
{{- fail (printf "env.%s looks like a secret: reference an existing Secret with secretEnv.%s: {secretName: ..., key: ...}" $name $name) -}}
{{- end -}}
{{- $s := include "service.envString" (dict "value" $value "context" $) -}}
{{- if regexMatch "^[a-zA-Z][a-zA-Z0-9+.-]*://[^/@:]+:[^/@]+@" $s -}}
{{- fail (printf "env.%s holds a URL with a password: keep the URL without it and reference the password in an existing Secret" $name) -}}
{{- end -}}
{{- $_ := set $data $name $s -}}
{{- end -}}
{{- range $name, $url := pick $data "REDIS_URL" "PG_URL" "PULSE_AUTH_PG_URL" -}}
{{- if regexMatch "^[a-zA-Z][a-zA-Z0-9+.-]*://[^/@:]+:[^/@]+@" $url -}}
{{- fail (printf "the %s URL has a password in it: drop it and set existingSecret with existingSecretPasswordKey or existingSecretUrlKey" $name) -}}
{{- end -}}
{{- end -}}
{{- toYaml $data -}}
{{- end }}

{{/*
How a store's URL reaches the container, from its resolved settings: `url` (whole URL from the Secret),
`password` (URL from values, password from the Secret, joined by Kubernetes' $(VAR) expansion) or `plain`.
*/}}
{{- define "service.secretUrlMode" -}}
{{- if and .existingSecret .existingSecretUrlKey -}}url
{{- else if and .existingSecret .existingSecretPasswordKey -}}password
{{- else -}}plain
{{- end -}}
{{- end }}

{{/*
Env entries of one store's URL when it involves a Secret: .name (REDIS_URL), .passwordVar (REDIS_PASSWORD),
.settings (resolved), .needUser (a URL without a user is refused), .what (for messages).
*/}}
{{- define "service.secretUrlEnv" -}}
{{- $s := .settings -}}
{{- $mode := include "service.secretUrlMode" $s -}}
{{- if eq $mode "url" }}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ $s.existingSecret | quote }}
      key: {{ $s.existingSecretUrlKey | quote }}
{{- else if eq $mode "password" }}
{{- $url := required (printf "%s.existingSecretPasswordKey needs %s.url or global.%s.url" .what .what .what) $s.url }}
{{- $scheme := "^([a-zA-Z][a-zA-Z0-9+.-]*://)" }}
{{- $withUser := regexMatch (printf "%s[^/@:]+@" $scheme) $url }}
{{- if and .needUser (not $withUser) }}
{{- fail (printf "%s url %q must name a user and no password (scheme://user@host:port/...) for the password to be inserted" .what $url) }}
{{- end }}
- name: {{ .passwordVar }}
  valueFrom:
    secretKeyRef:
      name: {{ $s.existingSecret | quote }}
      key: {{ $s.existingSecretPasswordKey | quote }}
- name: {{ .name }}
  {{- if $withUser }}
  value: {{ regexReplaceAll (printf "%s([^/@:]+)@" $scheme) $url (printf "${1}${2}:$$(%s)@" .passwordVar) | quote }}
  {{- else }}
  value: {{ regexReplaceAll $scheme $url (printf "${1}:$$(%s)@" .passwordVar) | quote }}
  {{- end }}
{{- end }}
{{- end }}

{{/* One probe from its values: type grpc (grpc.health.v1 on the gRPC port) or http (GET path on the HTTP port). */}}
{{- define "service.probe" -}}
{{- $p := .probe -}}
{{- if eq $p.type "grpc" }}
grpc:
  port: {{ .context.Values.containerPorts.grpc }}
  service: {{ $p.grpcService | quote }}
{{- else }}
httpGet:
  path: {{ $p.path }}
  port: http
{{- end }}
initialDelaySeconds: {{ $p.initialDelaySeconds }}
periodSeconds: {{ $p.periodSeconds }}
timeoutSeconds: {{ $p.timeoutSeconds }}
failureThreshold: {{ $p.failureThreshold }}
successThreshold: {{ $p.successThreshold }}
{{- end }}

{{/* Checks across values that a JSON schema cannot express. */}}
{{- define "service.validate" -}}
{{- if and (gt (int .Values.preStopSleepSeconds) 0) (not .Values.lifecycleHooks) (le (int .Values.terminationGracePeriodSeconds) (int .Values.preStopSleepSeconds)) -}}
{{- fail (printf "terminationGracePeriodSeconds (%d) must exceed preStopSleepSeconds (%d), leaving the service time to drain after SIGTERM" (int .Values.terminationGracePeriodSeconds) (int .Values.preStopSleepSeconds)) -}}
{{- end -}}
{{- if and .Values.grpcTls.enabled (not .Values.grpcTls.existingSecret) -}}
{{- fail "grpcTls.enabled needs grpcTls.existingSecret: a kubernetes.io/tls Secret with tls.crt, tls.key and ca.crt" -}}
{{- end -}}
{{- range $name, $p := dict "startupProbe" .Values.startupProbe "livenessProbe" .Values.livenessProbe "readinessProbe" .Values.readinessProbe -}}
{{- if and $p.enabled (eq $p.type "grpc") $.Values.grpcTls.enabled -}}
{{- fail (printf "%s.type grpc cannot reach a TLS server (Kubernetes' gRPC probes speak plaintext): with grpcTls.enabled use type http" $name) -}}
{{- end -}}
{{- if and $p.enabled (eq $p.type "grpc") (not $.Values.containerPorts.grpc) -}}
{{- fail (printf "%s.type grpc needs a gRPC port: containerPorts.grpc is 0 (HTTP only), use type http" $name) -}}
{{- end -}}
{{- end -}}
{{- if eq .Values.containerPorts.grpc .Values.containerPorts.http -}}
{{- fail (printf "containerPorts.grpc and containerPorts.http are both %d" (int .Values.containerPorts.grpc)) -}}
{{- end -}}
{{- if and .Values.autoscaling.enabled (gt (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas)) -}}
{{- fail "autoscaling.minReplicas exceeds autoscaling.maxReplicas" -}}
{{- end -}}
{{- if and .Values.autoscaling.enabled (not .Values.autoscaling.targetCPU) (not .Values.autoscaling.targetMemory) (not .Values.autoscaling.metrics) -}}
{{- fail "autoscaling.enabled needs autoscaling.targetCPU, autoscaling.targetMemory or autoscaling.metrics" -}}
{{- end -}}
{{- if and .Values.pdb.create (ne (toString .Values.pdb.minAvailable) "") (ne (toString .Values.pdb.maxUnavailable) "") -}}
{{- fail "set pdb.minAvailable or pdb.maxUnavailable, not both" -}}
{{- end -}}
{{- if and .Values.persistence.enabled (not .Values.persistence.mountPath) -}}
{{- fail "persistence.enabled needs persistence.mountPath" -}}
{{- end -}}
{{- $reserved := splitList " " (include "service.reservedEnv" .) -}}
{{- range $name, $ref := .Values.secretEnv -}}
{{- if and (has $name $reserved) -}}
{{- fail (printf "secretEnv.%s is set by the chart: use redis/postgresql existingSecret settings instead" $name) -}}
{{- end -}}
{{- if hasKey $.Values.env $name -}}
{{- fail (printf "%s is in both env and secretEnv" $name) -}}
{{- end -}}
{{- end -}}
{{- end }}

{{/*
The in-cluster addresses (host:port) of the stores and peers the service's values declare: the enabled stores'
addresses (the API key store's too), the JWKS URL, and every `env` value whose name ends in _ADDR, _URL,
_ENDPOINT, _BROKERS or _CONTACT_POINTS. Returns YAML: a list of egress rules, one per destination and port:
a name without a dot (a Service of the release's namespace) to the pods of that namespace, `<name>.<namespace>.svc`
(and longer in-cluster names) to that namespace, an IPv4 address to that address. Names outside the cluster
cannot be expressed by a NetworkPolicy: list them in networkPolicy.extraEgress (ipBlock).
*/}}
{{- define "service.egressRules" -}}
{{- $infra := include "service.infra" . | fromYaml -}}
{{- $addresses := list -}}
{{- if .Values.kafka.enabled -}}
{{- $addresses = concat $addresses (regexFindAll "[A-Za-z0-9.-]+:[0-9]+" $infra.kafka.brokers -1) -}}
{{- end -}}
{{- if .Values.cassandra.enabled -}}
{{- $addresses = concat $addresses (regexFindAll "[A-Za-z0-9.-]+:[0-9]+" $infra.cassandra.contactPoints -1) -}}
{{- end -}}
{{- $urls := dict -}}
{{- if .Values.redis.enabled -}}{{- $_ := set $urls "6379" $infra.redis.url -}}{{- end -}}
{{- $pg := list -}}
{{- if or .Values.postgresql.enabled (and .Values.auth.enabled .Values.auth.apiKeys.enabled) -}}
{{- $pg = append $pg $infra.postgresql.url -}}
{{- end -}}
{{- range $port, $url := $urls -}}
{{- with $url -}}
{{- $host := (urlParse .).host -}}
{{- $addresses = append $addresses (ternary $host (printf "%s:%s" $host $port) (contains ":" $host)) -}}
{{- end -}}
{{- end -}}
{{- range $pg -}}
{{- with . -}}
{{- $host := (urlParse .).host -}}
{{- $addresses = append $addresses (ternary $host (printf "%s:5432" $host) (contains ":" $host)) -}}
{{- end -}}
{{- end -}}
{{- with .Values.auth.jwt.jwksUrl -}}
{{- $u := urlParse . -}}
{{- $addresses = append $addresses (ternary $u.host (printf "%s:%s" $u.host (ternary "443" "80" (eq $u.scheme "https"))) (contains ":" $u.host)) -}}
{{- end -}}
{{- range $name, $value := .Values.env -}}
{{- if regexMatch "(_ADDR|_URL|_ENDPOINT|_BROKERS|_CONTACT_POINTS)$" $name -}}
{{- $s := include "service.envString" (dict "value" $value "context" $) -}}
{{- $addresses = concat $addresses (regexFindAll "[A-Za-z0-9.-]+:[0-9]+" $s -1) -}}
{{- end -}}
{{- end -}}
{{- $rules := dict -}}
{{- range $addresses -}}
{{- $host := lower (regexReplaceAll ":[0-9]+$" . "") -}}
{{- $port := regexFind "[0-9]+$" . -}}
{{- $labels := splitList "." $host -}}
{{- if regexMatch "^[0-9]+\\.[0-9]+\\.[0-9]+\\.[0-9]+$" $host -}}
{{- $_ := set $rules (printf "ip/%s/%s" $host $port) (dict "to" (list (dict "ipBlock" (dict "cidr" (printf "%s/32" $host)))) "ports" (list (dict "port" (int $port) "protocol" "TCP"))) -}}
{{- else if eq (len $labels) 1 -}}
{{- $_ := set $rules (printf "ns/%s/%s" $.Release.Namespace $port) (dict "to" (list (dict "podSelector" (dict))) "ports" (list (dict "port" (int $port) "protocol" "TCP"))) -}}
{{- else if and (has "svc" $labels) (gt (len $labels) 2) -}}
{{- $ns := "" -}}
{{- range $i, $l := $labels -}}{{- if and (eq $l "svc") (not $ns) (gt $i 0) -}}{{- $ns = index $labels (sub $i 1) -}}{{- end -}}{{- end -}}
{{- if $ns -}}
{{- $_ := set $rules (printf "ns/%s/%s" $ns $port) (dict "to" (list (dict "namespaceSelector" (dict "matchLabels" (dict "kubernetes.io/metadata.name" $ns)))) "ports" (list (dict "port" (int $port) "protocol" "TCP"))) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $list := list -}}
{{- range $key := keys $rules | sortAlpha -}}{{- $list = append $list (get $rules $key) -}}{{- end -}}
{{- toYaml (dict "rules" $list) -}}
{{- end }}
