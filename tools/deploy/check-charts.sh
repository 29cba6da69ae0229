#!/usr/bin/env bash
# Checks the Helm charts of deploy/helm:
#   - docs: every value of each chart is in its README's table; the platform embeds deploy/helm/values/*.yaml as is
#   - `helm dependency update` of the platform chart from the local path (offline; Chart.lock is generated, not kept)
#   - `helm lint --strict` of the service chart with each service's values, and of the platform chart
#   - `helm template` of each service, of a values file that turns every option on, and of the platform
#     (all services and a subset), validated by kubeconform -strict against the Kubernetes schemas
#   - a policy test of the rendered manifests (check-policies.py): default-deny NetworkPolicies without allow-all
#     rules, restricted Pod Security for every container
#   - wrong values (a string for a number, an unknown enum value or key, a secret in env, ...) must be refused
#   - the platform's alerting rules (deploy/helm/platform/alerts): `promtool check rules` and `promtool test rules`
# Tools are installed once into a cache outside the repository ($PULSE_TOOLS_CACHE, default ~/.cache/pulse-tools):
# helm, kubeconform and promtool with `go install`, the Kubernetes JSON schemas from PyPI's kubernetes-validate in a venv.
# The first run takes a few minutes (building helm); later runs take seconds.
#
#   tools/deploy/check-charts.sh            exit 0 when every check passes; the last line is `check-charts: N passed, N failed`
set -euo pipefail

HELM_VERSION=v3.22.0
KUBECONFORM_VERSION=v0.7.0
KUBERNETES_VALIDATE_VERSION=1.37.0
KUBERNETES_VERSION=1.35.0
# Prometheus 3's Go module version (github.com/prometheus/prometheus v0.3xx.y is Prometheus 3.xx.y)
PROMETHEUS_MODULE_VERSION=v0.316.0

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# Every Helm release of every service (tools/services/services.mjs is the one list).
read -ra SERVICES <<<"$(node "$root/tools/services/services.mjs" releases)"
cache="${PULSE_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pulse-tools}"
helm_dir="$root/deploy/helm"
here="$root/tools/deploy"
started=$SECONDS
passed=0
failed=0
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

say() { printf '%s\n' "$*"; }
ok() { passed=$((passed + 1)); printf '  ok    %s\n' "$1"; }
bad() {
  failed=$((failed + 1))
  printf '  FAIL  %s\n' "$1"
  if [[ -n ${2:-} && -s $2 ]]; then sed -e 's/^/        /' "$2" | head -n 40; fi
}
die() { printf 'check-charts: %s\n' "$*" >&2; exit 2; }

# ---------------------------------------------------------------------------------------------- tools
quietly() { # runs a command with its output in $cache/install.log, shown only when it fails
  if env "$@" >"$cache/install.log" 2>&1; then return 0; fi
  tail -n 30 "$cache/install.log" >&2
  return 1
}
install_tools() {
  local t0=$SECONDS
  mkdir -p "$cache/bin" "$cache/stamps"
  exec 9>"$cache/.lock"
  flock 9
  if [[ ! -x $cache/bin/helm || ! -e $cache/stamps/helm-$HELM_VERSION ]]; then
    command -v go >/dev/null || die "helm is built with Go (go install), and go is not on PATH"
    say "installing helm $HELM_VERSION into $cache/bin (go install, a few minutes the first time)"
    # The same version stamps as helm's release build (it defaults to Kubernetes v1.20 without them).
    local ld="-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
    ld+=" -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=37"
    ld+=" -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=37"
    quietly GOBIN="$cache/bin" GOFLAGS=-mod=mod go install -ldflags "$ld" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" \
      || die "go install helm.sh/helm/v3/cmd/helm@$HELM_VERSION failed"
    touch "$cache/stamps/helm-$HELM_VERSION"
  fi
  if [[ ! -x $cache/bin/kubeconform || ! -e $cache/stamps/kubeconform-$KUBECONFORM_VERSION ]]; then
    command -v go >/dev/null || die "kubeconform is built with Go (go install), and go is not on PATH"
    say "installing kubeconform $KUBECONFORM_VERSION into $cache/bin (go install)"
    quietly GOBIN="$cache/bin" GOFLAGS=-mod=mod go install -ldflags "-X main.version=$KUBECONFORM_VERSION" \
      "github.com/yannh/kubeconform/cmd/kubeconform@$KUBECONFORM_VERSION" \
      || die "go install github.com/yannh/kubeconform/cmd/kubeconform@$KUBECONFORM_VERSION failed"
    touch "$cache/stamps/kubeconform-$KUBECONFORM_VERSION"
  fi
  if [[ ! -x $cache/bin/promtool || ! -e $cache/stamps/promtool-$PROMETHEUS_MODULE_VERSION ]]; then
    command -v go >/dev/null || die "promtool is built with Go (go install), and go is not on PATH"
    say "installing promtool (prometheus $PROMETHEUS_MODULE_VERSION) into $cache/bin (go install, a few minutes the first time)"
    quietly GOBIN="$cache/bin" GOFLAGS=-mod=mod go install "github.com/prometheus/prometheus/cmd/promtool@$PROMETHEUS_MODULE_VERSION" \
      || die "go install github.com/prometheus/prometheus/cmd/promtool@$PROMETHEUS_MODULE_VERSION failed"
    touch "$cache/stamps/promtool-$PROMETHEUS_MODULE_VERSION"
  fi
  if [[ ! -x $cache/venv/bin/python || ! -e $cache/stamps/kubernetes-validate-$KUBERNETES_VALIDATE_VERSION ]]; then
    say "installing kubernetes-validate $KUBERNETES_VALIDATE_VERSION into $cache/venv (pip)"
    rm -rf "$cache/venv"
    quietly python3 -m venv "$cache/venv" || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
    quietly "$cache/venv/bin/pip" install --disable-pip-version-check "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" \
      || die "pip install kubernetes-validate==$KUBERNETES_VALIDATE_VERSION failed"
    touch "$cache/stamps/kubernetes-validate-$KUBERNETES_VALIDATE_VERSION"
  fi
  flock -u 9
  if ((SECONDS - t0 > 1)); then say "tools installed in $((SECONDS - t0))s"; fi
}

install_tools
helm="$cache/bin/helm"
kubeconform="$cache/bin/kubeconform"
promtool="$cache/bin/promtool"
python="$cache/venv/bin/python"
schemas="$cache/k8s-schemas/v$KUBERNETES_VERSION-kv$KUBERNETES_VALIDATE_VERSION"
# Keep helm away from the user's repositories and plugins: nothing here needs them.
export HELM_CONFIG_HOME="$cache/helm/config" HELM_CACHE_HOME="$cache/helm/cache" HELM_DATA_HOME="$cache/helm/data"
kv=(--kube-version "$KUBERNETES_VERSION")
infra=(-f "$here/testdata/infra.yaml")
say "helm $("$helm" version --template '{{.Version}}'), kubeconform $("$kubeconform" -v), kubernetes-validate $KUBERNETES_VALIDATE_VERSION; Kubernetes $KUBERNETES_VERSION"

# ---------------------------------------------------------------------------------------------- docs
say "docs"
for chart in service platform; do
  if "$python" "$here/values-doc.py" --check "$helm_dir/$chart" 2>"$work/err"; then
    ok "every value of $chart is documented in its README"
  else bad "values of $chart vs its README" "$work/err"; fi
done
if "$here/sync-platform-values.sh" --check 2>"$work/err"; then
  ok "platform values embed deploy/helm/values/*.yaml"
else bad "platform values embed deploy/helm/values/*.yaml" "$work/err"; fi

# ---------------------------------------------------------------------------------------------- lint
say "lint"
if "$helm" dependency update "$helm_dir/platform" --skip-refresh >"$work/err" 2>&1; then
  ok "helm dependency update platform (file://../service, offline; Chart.lock is generated)"
else bad "helm dependency update platform" "$work/err"; fi

lint() { # name, helm lint args...
  local name=$1; shift
  if "$helm" lint --strict "${kv[@]}" "$@" >"$work/err" 2>&1; then ok "helm lint --strict $name"
  else bad "helm lint --strict $name" "$work/err"; fi
}
for s in "${SERVICES[@]}"; do
  lint "service -f values/$s.yaml" "$helm_dir/service" "${infra[@]}" -f "$helm_dir/values/$s.yaml"
done
lint "service (every option on)" "$helm_dir/service" "${infra[@]}" -f "$helm_dir/values/ingest.yaml" -f "$here/testdata/everything.yaml"
lint "platform" "$helm_dir/platform"

# ---------------------------------------------------------------------------------------------- render + validate
say "render and validate (kubeconform -strict, Kubernetes $KUBERNETES_VERSION)"
render() { # file, helm template args...
  local out="$work/$1"; shift
  if "$helm" template "${kv[@]}" "$@" >"$out" 2>"$work/err"; then return 0; fi
  bad "helm template $*" "$work/err"
  rm -f "$out"
  return 1
}
for s in "${SERVICES[@]}"; do
  render "$s.yaml" "$s" "$helm_dir/service" -n pulse "${infra[@]}" -f "$helm_dir/values/$s.yaml" || true
done
render everything.yaml everything "$helm_dir/service" -n pulse "${infra[@]}" -f "$helm_dir/values/ingest.yaml" -f "$here/testdata/everything.yaml" || true
render platform.yaml pulse "$helm_dir/platform" -n pulse || true
render platform-alerts.yaml pulse "$helm_dir/platform" -n pulse --set alerts.enabled=true --set alerts.labels.release=prometheus || true
tls=(--set grpcTls.enabled=true --set grpcTls.existingSecret=ingest-grpc-tls --set readinessProbe.type=http)
render ingest-tls.yaml ingest "$helm_dir/service" -n pulse "${infra[@]}" -f "$helm_dir/values/ingest.yaml" "${tls[@]}" || true
off=()
for s in "${SERVICES[@]}"; do [[ $s == ingest ]] || off+=(--set "$s.enabled=false"); done
render platform-subset.yaml pulse "$helm_dir/platform" -n pulse "${off[@]}" || true

expect_kinds() { # file, description, grep -c pattern, count
  local n
  n=$(grep -c -- "$3" "$work/$1" 2>/dev/null || true)
  if [[ $n == "$4" ]]; then ok "$2"; else printf 'expected %s of %s, found %s\n' "$4" "$3" "${n:-0}" >"$work/err"; bad "$2" "$work/err"; fi
}
if [[ -e $work/platform.yaml ]]; then
  expect_kinds platform.yaml "platform renders a Deployment per service" '^kind: Deployment$' "${#SERVICES[@]}"
  expect_kinds platform.yaml "platform renders no ServiceMonitor by default" '^kind: ServiceMonitor$' 0
  expect_kinds platform.yaml "global.tracing reaches every service (TRACING_ENABLED)" '^  TRACING_ENABLED: "true"$' "${#SERVICES[@]}"
  expect_kinds platform.yaml "global.logShipping reaches every service (LOG_SHIPPING_BROKERS)" '^  LOG_SHIPPING_BROKERS: ' "${#SERVICES[@]}"
  expect_kinds platform.yaml "the logs service gets the log store's address (OPENSEARCH_URL)" '^  OPENSEARCH_URL: ' 1
fi
if [[ -e $work/platform-alerts.yaml ]]; then
  rules=$(grep -c -- '- alert: Pulse' "$helm_dir/platform/alerts/pulse.rules.yaml" || true)
  expect_kinds platform-alerts.yaml "alerts.enabled renders one PrometheusRule" '^kind: PrometheusRule$' 1
  expect_kinds platform-alerts.yaml "the PrometheusRule holds every rule of alerts/pulse.rules.yaml" '- alert: Pulse' "$rules"
  expect_kinds platform.yaml "platform renders no PrometheusRule by default" '^kind: PrometheusRule$' 0
fi
[[ -e $work/platform-subset.yaml ]] && expect_kinds platform-subset.yaml "platform with every service but ingest off renders ingest only" '^kind: Deployment$' 1
if [[ -e $work/ingest.yaml ]]; then
  expect_kinds ingest.yaml "autoscaling drops replicas from the Deployment" '^  replicas:' 0
  expect_kinds ingest.yaml "ingest renders an autoscaling/v2 HPA" '^apiVersion: autoscaling/v2$' 1
  expect_kinds ingest.yaml "readiness is a native gRPC probe" '^            grpc:$' 1
  expect_kinds ingest.yaml "authentication is on" '^  PULSE_AUTH: "on"$' 1
  expect_kinds ingest.yaml "reflection is off" '^  GRPC_REFLECTION: "false"$' 1
  expect_kinds ingest.yaml "the API key store's password comes from the Secret" 'name: PULSE_AUTH_PG_PASSWORD$' 1
fi
if [[ -e $work/ingest-tls.yaml ]]; then
  expect_kinds ingest-tls.yaml "grpcTls serves the Secret's certificate (GRPC_TLS_CERT_FILE)" '^  GRPC_TLS_CERT_FILE: /etc/pulse/tls/tls.crt$' 1
  expect_kinds ingest-tls.yaml "grpcTls requires client certificates by default (mTLS)" '^  GRPC_TLS_CLIENT_AUTH: require$' 1
  expect_kinds ingest-tls.yaml "grpcTls mounts the Secret read-only" '^            secretName: "ingest-grpc-tls"$' 1
fi
[[ -e $work/recommender.yaml ]] && expect_kinds recommender.yaml "the recommender's own key comes from a Secret" '^            - name: PULSE_API_KEY$' 1
[[ -e $work/privacy.yaml ]] && expect_kinds privacy.yaml "the privacy service's own key comes from a Secret" '^            - name: PULSE_API_KEY$' 1
if [[ -e $work/platform.yaml ]]; then
  expect_kinds platform.yaml "authentication is on for every service of the platform" '^  PULSE_AUTH: "on"$' "${#SERVICES[@]}"
  expect_kinds platform.yaml "no service of the platform serves reflection" '^  GRPC_REFLECTION: "false"$' "${#SERVICES[@]}"
fi
[[ -e $work/everything.yaml ]] && expect_kinds everything.yaml "metrics.serviceMonitor.enabled renders a ServiceMonitor" '^apiVersion: monitoring.coreos.com/v1$' 1
[[ -e $work/everything.yaml ]] && expect_kinds everything.yaml "the Cassandra password comes from a Secret" '^            - name: CASSANDRA_PASSWORD$' 1
[[ -e $work/everything.yaml ]] && expect_kinds everything.yaml "the Cassandra CA is mounted from a Secret" '^            secretName: "cassandra-client-tls"$' 1

manifests=("$work"/*.yaml)
if "$python" "$here/k8s-schemas.py" --version "$KUBERNETES_VERSION" --out "$schemas" --skip ServiceMonitor --skip PrometheusRule "${manifests[@]}" 2>"$work/err"; then
  # ServiceMonitor and PrometheusRule are the Prometheus Operator's CRDs, without a schema among Kubernetes' own:
  # skipped by kind, and only those kinds (the rules themselves are checked by promtool below).
  if "$kubeconform" -strict -summary -skip ServiceMonitor,PrometheusRule \
      -schema-location "$schemas/{{ .ResourceKind }}{{ .KindSuffix }}.json" "${manifests[@]}" >"$work/kc" 2>&1; then
    ok "kubeconform -strict: $(tail -n 1 "$work/kc" | sed 's/^Summary: //')"
  else bad "kubeconform -strict" "$work/kc"; fi
else bad "Kubernetes $KUBERNETES_VERSION schemas" "$work/err"; fi

# ---------------------------------------------------------------------------------------------- alerting rules
say "alerting rules (promtool, deploy/helm/platform/alerts)"
if "$promtool" check rules "$helm_dir/platform/alerts/pulse.rules.yaml" >"$work/err" 2>&1; then
  ok "promtool check rules: $(grep -o 'SUCCESS: [0-9]* rules found' "$work/err" | head -n 1)"
else bad "promtool check rules pulse.rules.yaml" "$work/err"; fi
if (cd "$helm_dir/platform/alerts" && "$promtool" test rules pulse.rules.test.yaml) >"$work/err" 2>&1; then
  ok "promtool test rules: every alert fires on its series after its 'for', and not on the healthy ones"
else bad "promtool test rules pulse.rules.test.yaml" "$work/err"; fi

# ---------------------------------------------------------------------------------------------- policies
say "policies of the rendered manifests (tools/deploy/check-policies.py)"
if "$python" "$here/check-policies.py" "${manifests[@]}" >"$work/err" 2>&1; then
  ok "every NetworkPolicy is Ingress+Egress without an allow-all rule; every container runs restricted (non-root, read-only root, no escalation, drop ALL, RuntimeDefault)"
else bad "policies of the rendered manifests" "$work/err"; fi
# The policy test itself: a chart that allows everything must be caught.
if "$helm" template "${kv[@]}" open "$helm_dir/service" -n pulse "${infra[@]}" -f "$helm_dir/values/ingest.yaml" \
    --set networkPolicy.allowExternal=true --set networkPolicy.allowExternalEgress=true \
    --set containerSecurityContext.readOnlyRootFilesystem=false >"$work/open.out" 2>"$work/err"; then
  if "$python" "$here/check-policies.py" "$work/open.out" >"$work/out" 2>&1; then
    printf 'check-policies.py accepted a NetworkPolicy that allows everything\n' >"$work/err"
    bad "the policy test catches allow-all rules" "$work/err"
  elif grep -q 'from anywhere' "$work/out" && grep -q 'any egress' "$work/out" && grep -q 'readOnlyRootFilesystem' "$work/out"; then
    ok "the policy test catches allow-all ingress and egress rules and a writable root filesystem"
  else bad "the policy test catches allow-all rules" "$work/out"; fi
else bad "helm template open" "$work/err"; fi

# ---------------------------------------------------------------------------------------------- wrong values
say "wrong values are refused"
refuse() { # description, expected message (grep -E), helm args...
  local what=$1 want=$2; shift 2
  if "$helm" "$@" >"$work/out" 2>&1; then
    printf 'accepted: helm %s\n' "$*" >"$work/err"
    bad "$what" "$work/err"
  elif grep -qE -- "$want" "$work/out"; then
    ok "$what: $(grep -m1 -oE -- "$want" "$work/out" | head -n 1)"
  else
    printf 'refused, but without the expected message /%s/:\n' "$want" >"$work/err"
    cat "$work/out" >>"$work/err"
    bad "$what" "$work/err"
  fi
}
svc=(template x "$helm_dir/service" "${kv[@]}" "${infra[@]}" -f "$helm_dir/values/ingest.yaml")
refuse 'replicaCount: "three" (lint)' "replicaCount'?: got string, want integer" \
  lint --strict "$helm_dir/service" "${kv[@]}" "${infra[@]}" -f "$helm_dir/values/ingest.yaml" --set-string replicaCount=three
refuse 'replicaCount: "three" (template)' "replicaCount'?: got string, want integer" "${svc[@]}" --set-string replicaCount=three
refuse 'service.type: Ingress' "/service/type'?: value must be one of" "${svc[@]}" --set service.type=Ingress
refuse 'readinessProbe.type: tcp' "/readinessProbe/type'?: value must be one of" "${svc[@]}" --set readinessProbe.type=tcp
refuse 'grpcTls.enabled without a Secret' "grpcTls.enabled needs grpcTls.existingSecret" "${svc[@]}" --set grpcTls.enabled=true
refuse 'grpcTls with a gRPC readiness probe' "readinessProbe.type grpc cannot reach a TLS server" "${svc[@]}" \
  --set grpcTls.enabled=true --set grpcTls.existingSecret=s
refuse 'grpcTls.clientAuth: optional' "/grpcTls/clientAuth'?: value must be one of" "${svc[@]}" --set grpcTls.clientAuth=optional
refuse 'unknown key replicas' "additional properties 'replicas' not allowed" "${svc[@]}" --set replicas=3
refuse 'containerPorts.grpc: 70000' "/containerPorts/grpc'?: maximum" "${svc[@]}" --set containerPorts.grpc=70000
refuse 'a gRPC readiness probe without a gRPC port' 'readinessProbe.type grpc needs a gRPC port' "${svc[@]}" --set containerPorts.grpc=0
refuse 'no serviceName' "/serviceName'?: minLength" template x "$helm_dir/service" "${kv[@]}" "${infra[@]}"
refuse 'a password in env' 'looks like a secret' "${svc[@]}" --set env.DB_PASSWORD=hunter2
refuse 'a store URL with a password' "/global/redis/url'?: .* does not match pattern" "${svc[@]}" --set 'global.redis.url=redis://user:hunter2@redis:6379'
refuse 'a URL with a password in env' 'holds a URL with a password' "${svc[@]}" --set 'env.ANALYTICS_URL=postgres://pulse:hunter2@pg:5432/pulse'
refuse 'env sets a derived variable' 'is set by the chart' "${svc[@]}" --set env.GRPC_PORT=1
refuse 'env sets PULSE_AUTH' 'is set by the chart' "${svc[@]}" --set env.PULSE_AUTH=off
refuse 'auth without API keys or a JWKS' 'auth.enabled needs auth.apiKeys.enabled or auth.jwt.jwksUrl' "${svc[@]}" --set auth.apiKeys.enabled=false
refuse 'a JWKS without an issuer' 'auth.jwt.jwksUrl needs auth.jwt.issuer' "${svc[@]}" --set auth.jwt.jwksUrl=https://idp.test/jwks.json
refuse 'kafka.enabled without brokers' 'kafka.enabled needs kafka.brokers' template x "$helm_dir/service" "${kv[@]}" -f "$helm_dir/values/ingest.yaml" --set global.redis.url=redis://r:6379
refuse 'grace period within the preStop sleep' 'terminationGracePeriodSeconds \([0-9]+\) must exceed preStopSleepSeconds' "${svc[@]}" --set terminationGracePeriodSeconds=5
refuse 'platform: ingest.replicaCount: "three"' "replicaCount'?: got string, want integer" template pulse "$helm_dir/platform" "${kv[@]}" --set-string ingest.replicaCount=three
refuse 'platform: unknown service key' "additional properties 'search' not allowed" template pulse "$helm_dir/platform" "${kv[@]}" --set search.enabled=true
refuse 'tracing without an OTLP endpoint' 'global.tracing.enabled needs global.tracing.otlpUrl' "${svc[@]}" --set global.tracing.enabled=true
refuse 'global.tracing.sampleRatio: "2"' "/global/tracing/sampleRatio'?: .* does not match pattern" "${svc[@]}" --set-string global.tracing.sampleRatio=2

# ---------------------------------------------------------------------------------------------- summary
say "check-charts: $((passed + failed)) checks in $((SECONDS - started))s ($helm_dir)"
say "check-charts: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
