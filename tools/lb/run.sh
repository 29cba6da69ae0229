#!/usr/bin/env bash
# gRPC load-balancing demo (nginx L7 proxy and grpc-js round_robin over 3 ingest replicas, with failover);
# prints one JSON line. See tools/lb/README.md.
set -euo pipefail
# Node check, stack check and stale-build detection are shared with the benches.
# shellcheck source=../bench/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../bench/lib/common.sh"

lb_die() { printf 'lb: error: %s\n' "$*" >&2; exit 1; }

bench_check_node
bench_check_stack kafka redis
bench_stack_env

NGINX=${LB_NGINX:-$(command -v nginx || true)}
if [[ -z $NGINX && -x /usr/sbin/nginx ]]; then NGINX=/usr/sbin/nginx; fi
if [[ -z $NGINX ]]; then
  if [[ ${LB_INSTALL_NGINX:-1} == 1 && $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    printf 'lb: installing nginx-light (Debian package)\n' >&2
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light; } >&2 ||
      lb_die "apt-get install nginx-light failed"
    NGINX=$(command -v nginx || echo /usr/sbin/nginx)
  else
    lb_die "nginx not found: install it (apt-get install nginx-light) or set LB_NGINX"
  fi
fi
"$NGINX" -V 2>&1 | grep -q -- '--with-http_v2_module' || lb_die "$NGINX lacks the HTTP/2 module"
"$NGINX" -V 2>&1 | grep -q -- '--without-http_grpc_module' && lb_die "$NGINX lacks the gRPC module"
export LB_NGINX=$NGINX

bench_ensure_build ingest "$BENCH_REPO/dist/apps/ingest/main.js" \
  apps/ingest/src apps/ingest/project.json apps/ingest/webpack.config.js apps/ingest/tsconfig.app.json \
  libs/platform/src libs/contracts/src proto tsconfig.base.json package-lock.json
cd "$BENCH_REPO"
bench_run_ts tools/lb/run.ts "$@"
