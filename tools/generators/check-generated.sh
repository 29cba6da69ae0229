#!/usr/bin/env bash
# Proves that `nx g @pulse/tools:service` makes a working service: generates services into a copy of the workspace
# (tracked and new files; node_modules linked) and runs on them what `./pulse test` runs on every service — the
# service list check, ESLint with module boundaries, Prettier, buf lint, type checks, unit and integration tests
# against the stack, the migrate target, and the Helm chart checks with the new releases.
#   demo        --grpc --kafka-consumer --postgres   (the combination the docs walk through)
#   demo-store  --grpc --cassandra --redis
#   demo-web    --no-grpc                        (HTTP only: no gRPC port anywhere, GET /status)
# Needs the stack (tools/stack/stack up). Prints `generator: N passed, N failed` last; exit 0 when all passed.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/pulse-generator.XXXXXX")"
trap '[[ -n ${PULSE_GENERATOR_KEEP:-} ]] && echo "generator: kept $work" || rm -rf "$work"' EXIT
passed=0
failed=0
results="$root/tmp/test-results"
mkdir -p "$results"
check() { # description, command...
  local what=$1 log="$work/.check.log"
  shift
  if "$@" >"$log" 2>&1; then
    passed=$((passed + 1))
    printf '  ok    %s\n' "$what"
  else
    failed=$((failed + 1))
    printf '  FAIL  %s\n' "$what"
    tail -n 40 "$log" | sed 's/^/        /'
  fi
}

(cd "$root" && git ls-files -co --exclude-standard -z | tar --null --ignore-failed-read -T - -cf - 2>/dev/null) | tar -xf - -C "$work"
ln -s "$root/node_modules" "$work/node_modules"
cd "$work"
export PATH="$root/node_modules/.bin:$PATH" NX_DAEMON=false NX_NO_CLOUD=true NX_TUI=false NX_CACHE_DIRECTORY="$work/.nx/cache"
# The Jest summary reporter writes into the copy's tmp/; the suite's summary counts this script's checks instead.
started=$SECONDS

generate() { nx g @pulse/tools:service "$@" --no-interactive; }
check "nx g @pulse/tools:service demo --grpc --kafka-consumer --postgres" generate demo --grpc --kafka-consumer --postgres --description "A generated service with a consumer and a PostgreSQL schema."
check "nx g @pulse/tools:service demo-store --grpc --cassandra --redis" generate demo-store --grpc --cassandra --redis --description "A generated service with Cassandra and Redis."
check "nx g @pulse/tools:service demo-web --no-grpc" generate demo-web --no-grpc --description "A generated service that serves HTTP only."
check "the service list has all three, and their files agree with it" bash -c 'for s in demo demo-store demo-web; do node tools/services/services.mjs names | grep -qw "$s" || exit 1; done; node tools/services/services.mjs check'
check "the HTTP-only service has no gRPC port in its list entry, config, .env.example or Helm values" bash -c 'node tools/services/services.mjs ports | grep -qx "demo-web - [0-9]*" && ! grep -qE "GRPC_(HOST|PORT)" apps/demo-web/.env.example apps/demo-web/src/config/demo-web.config.ts && grep -qx "  grpc: 0" deploy/helm/values/demo-web.yaml && test ! -e proto/pulse/demo_web'
check "buf lint of the new proto packages" bash -c 'cd proto && buf lint && buf format --diff --exit-code --path pulse'
check "the generated TypeScript of the contracts is in place" test -f libs/contracts/src/gen/pulse/demo/v1/demo_service.ts
check "prettier --check of everything generated" prettier --check apps/demo apps/demo-store apps/demo-web tools libs/contracts/src/index.ts
check "eslint (module boundaries) of all three, without warnings" nx run-many -t lint -p demo demo-store demo-web --output-style=static --skip-nx-cache --args=--max-warnings=0
for app in demo demo-store demo-web; do
  check "type check of $app (app and specs)" bash -c "tsc -p apps/$app/tsconfig.app.json --noEmit && tsc -p apps/$app/tsconfig.spec.json --noEmit"
  check "unit tests of $app" nx test "$app" --output-style=static --skip-nx-cache
  check "integration tests of $app against the stack" nx int-test "$app" --output-style=static --skip-nx-cache
  [[ $app == demo-web ]] || check "nx run $app:migrate (built, then applied to the stack)" nx run "$app:migrate" --output-style=static --skip-nx-cache
done
check "the platform chart embeds the new releases" bash tools/deploy/sync-platform-values.sh --check
check "Helm chart checks with the new releases (lint, kubeconform, platform)" bash -c 'set -o pipefail; tools/deploy/check-charts.sh | tee .charts.log | tail -n 2 && grep -q "demo-store" .charts.log && grep -q "demo-web" .charts.log'
# The migrate checks applied to the default schema and keyspace of the copies' services: drop them again.
node -e '
  const { Client } = require("pg");
  const cassandra = require("cassandra-driver");
  const pg = new Client({ connectionString: process.env.PG_URL || "postgres://pulse:pulse@127.0.0.1:25432/pulse" });
  const cql = new cassandra.Client({ contactPoints: (process.env.CASSANDRA_CONTACT_POINTS || "127.0.0.1:29042").split(","), localDataCenter: process.env.CASSANDRA_LOCAL_DC || "datacenter1",
    authProvider: process.env.CASSANDRA_USERNAME ? new cassandra.auth.PlainTextAuthProvider(process.env.CASSANDRA_USERNAME, process.env.CASSANDRA_PASSWORD) : undefined });
  Promise.all([
    pg.connect().then(() => pg.query("DROP SCHEMA IF EXISTS demo CASCADE")).finally(() => pg.end()),
    cql.execute("DROP KEYSPACE IF EXISTS pulse_demo_store").finally(() => cql.shutdown()),
  ]).catch(() => undefined);
' >/dev/null 2>&1 || true

printf 'generator: %d checks in %ds\n' "$((passed + failed))" "$((SECONDS - started))"
printf '{"kind":"int","project":"tools_generators","passed":%d,"failed":%d,"skipped":0}\n' "$passed" "$failed" >"$results/int-tools_generators.json"
printf 'generator: %d passed, %d failed\n' "$passed" "$failed"
((failed == 0))
