#!/usr/bin/env bash
# Runs a built image against the local stack (tools/stack) the way the Helm chart runs it (UID 1000, read-only
# root filesystem, /tmp a tmpfs, no capabilities), then checks:
#   /health/ready answers 200, `grpcurl list` shows the service, tini is PID 1, node runs as 1000:1000,
#   the root filesystem is read-only and /tmp writable, the OCI labels; prints the image size. Stops the container.
#
#   tools/images/verify.sh ingest [image]      # default image localhost/pulse/<app>:<git short sha>
#
# The container uses the host network on ports 45xxx (gRPC) / 48xxx (HTTP), so it does not collide with services
# started from the checkout. etl runs without streams; storage runs without its Kafka consumers, on a throwaway keyspace it migrates itself;
# cdc runs `node migrate.js` and then the service on a throwaway schema, publication and slot (no snapshot, no
# heartbeat). All of them are dropped afterwards. Environment: GRPCURL (default ~/go/bin/grpcurl or grpcurl on PATH), KAFKA_BROKERS, REDIS_URL,
# CASSANDRA_CONTACT_POINTS, CASSANDRA_LOCAL_DC, CASSANDRA_USERNAME, CASSANDRA_PASSWORD, PG_URL, READY_TIMEOUT (s, default 90), plus those of tools/images/lib.sh.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=tools/images/lib.sh
source "$ROOT/tools/images/lib.sh"

app="${1:?usage: $0 <app> [image]}"
image="${2:-${IMAGE_PREFIX:-localhost/pulse}/$app:$(git -C "$ROOT" rev-parse --short HEAD)}"
GRPCURL="${GRPCURL:-$(command -v grpcurl || echo "$HOME/go/bin/grpcurl")}"
KAFKA_BROKERS="${KAFKA_BROKERS:-127.0.0.1:29092}"
REDIS_URL="${REDIS_URL:-redis://127.0.0.1:26379}"
CASSANDRA_CONTACT_POINTS="${CASSANDRA_CONTACT_POINTS:-127.0.0.1:29042}"
CASSANDRA_LOCAL_DC="${CASSANDRA_LOCAL_DC:-datacenter1}"
PG_URL="${PG_URL:-postgres://pulse:pulse@127.0.0.1:25432/pulse}"
name="pulse-verify-$app-$$"
fail=0
ok()   { echo "  ok    $*"; }
bad()  { echo "  FAIL  $*"; fail=1; }

case "$app" in
  ingest)  grpc=45051; http=48081; service=pulse.ingest.v1.IngestService
           env=(-e "KAFKA_BROKERS=$KAFKA_BROKERS" -e "REDIS_URL=$REDIS_URL") ;;
  storage) grpc=45053; http=48083; service=pulse.storage.v1.StorageService
           keyspace="pulse_storage_verify_$$"
           env=(-e "KAFKA_BROKERS=$KAFKA_BROKERS" -e "CASSANDRA_CONTACT_POINTS=$CASSANDRA_CONTACT_POINTS"
                -e "CASSANDRA_LOCAL_DC=$CASSANDRA_LOCAL_DC" -e "CASSANDRA_KEYSPACE=$keyspace"
                -e "CASSANDRA_USERNAME=${CASSANDRA_USERNAME:-}" -e "CASSANDRA_PASSWORD=${CASSANDRA_PASSWORD:-}"
                -e CASSANDRA_REPLICATION=SimpleStrategy:1 -e STORAGE_AUTO_MIGRATE=true
                -e STORAGE_ACTIVITY_CONSUMER=false -e STORAGE_CDC_CONSUMER=false
                -e MEDIA_BACKEND=fs -e MEDIA_ROOT=/tmp/media -e MEDIA_SWEEPER=false) ;;
  cdc)     grpc=45052; http=48082; service=pulse.cdc.v1.CdcService
           # own schema, publication, slot and state schema, so nothing of the shared database is touched
           id="pulse_verify_$$"; pg_schema="${id}_src"
           env=(-e "KAFKA_BROKERS=$KAFKA_BROKERS" -e "PG_URL=$PG_URL" -e "CDC_SERVER_NAME=$id" -e "CDC_SCHEMA=$pg_schema"
                -e "CDC_PUBLICATION=$id" -e "CDC_SLOT=$id" -e "CDC_STATE_SCHEMA=${id}_state" -e CDC_SNAPSHOT_MODE=no_data
                -e CDC_HEARTBEAT_INTERVAL=0s) ;;
  etl)     grpc=45054; http=48084; service=pulse.etl.v1.EtlService
           # no streams (nothing of the shared topics is consumed); the lake on the tmpfs: DuckDB's native
           # binding loads and the service answers
           env=(-e "KAFKA_BROKERS=$KAFKA_BROKERS" -e LAKE_ROOT=/tmp/lake -e ETL_BRONZE_STREAMS=false
                -e ETL_AGGREGATE_STREAMS=false -e LAKE_COMPACTION_INTERVAL=0s) ;;
  *) echo "verify: unknown app $app" >&2; exit 2 ;;
esac

"${PODMAN_CMD[@]}" image exists "$image" || { echo "verify: no image $image (tools/images/build.sh $app)" >&2; exit 1; }
echo "verify: $image"
size="$("${PODMAN_CMD[@]}" image inspect --format '{{.Size}}' "$image")"
echo "  size  $((size / 1000000)) MB"
labels="$("${PODMAN_CMD[@]}" image inspect --format '{{range $k, $v := .Config.Labels}}{{$k}}={{$v}} {{end}}' "$image")"
for l in title version revision created licenses; do
  [[ "$labels" == *"org.opencontainers.image.$l="* ]] && ok "label org.opencontainers.image.$l" || bad "label org.opencontainers.image.$l missing"
done
[[ "$("${PODMAN_CMD[@]}" image inspect --format '{{.Config.User}}' "$image")" == 1000:1000 ]] && ok "USER 1000:1000" || bad "USER is not 1000:1000"

# Files the service reads at start-up, under the read-only root filesystem.
files=(/app/main.js /app/node_modules /app/proto/pulse)
[[ $app == storage || $app == cdc ]] && files+=(/app/migrations)
[[ $app == cdc ]] && files+=(/app/migrate.js)
if "${PODMAN_CMD[@]}" run --rm --read-only --entrypoint /bin/sh "$image" -c "ls -d ${files[*]} >/dev/null"; then
  ok "present: ${files[*]}"; else bad "missing one of ${files[*]}"; fi

# the native module of the Kafka client's CRC32C (an optional, platform-specific dependency)
if "${PODMAN_CMD[@]}" run --rm --read-only --network none --entrypoint node "$image" -e "require('@node-rs/crc32').crc32c('x')"; then
  ok "native @node-rs/crc32 loads"; else bad "native @node-rs/crc32 does not load"; fi

pg() { ( cd "$ROOT" && "$ROOT/node_modules/.bin/node" -e '
  const { Client } = require("pg");
  const c = new Client({ connectionString: process.argv[1] });
  c.connect().then(async () => { for (const q of process.argv.slice(2)) await c.query(q); }).finally(() => c.end())
    .catch((e) => { console.error(e.message); process.exit(1); });
  ' "$PG_URL" "$@" ); }

cleanup() {
  "${PODMAN_CMD[@]}" rm --force --time 10 "$name" >/dev/null 2>&1 || true
  if [[ -n "${pg_schema:-}" ]]; then
    pg "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '$id'" \
       "DROP PUBLICATION IF EXISTS $id" "DROP SCHEMA IF EXISTS $pg_schema CASCADE" "DROP SCHEMA IF EXISTS ${id}_state CASCADE" \
      || echo "verify: could not drop $id (slot, publication, schemas)" >&2
  fi
  if [[ -n "${keyspace:-}" ]]; then
    ( cd "$ROOT" && "$ROOT/node_modules/.bin/node" -e '
        const { auth, Client } = require("cassandra-driver");
        const [cp, dc, ks] = process.argv.slice(1);
        const user = process.env.CASSANDRA_USERNAME;
        const c = new Client({ contactPoints: cp.split(","), localDataCenter: dc,
          authProvider: user ? new auth.PlainTextAuthProvider(user, process.env.CASSANDRA_PASSWORD) : undefined });
        c.execute(`DROP KEYSPACE IF EXISTS ${ks}`).then(() => c.shutdown(), (e) => { console.error(e.message); return c.shutdown(); });
      ' "$CASSANDRA_CONTACT_POINTS" "$CASSANDRA_LOCAL_DC" "$keyspace" ) || echo "verify: could not drop keyspace $keyspace" >&2
  fi
}
trap cleanup EXIT

if [[ $app == cdc ]]; then
  pg "CREATE SCHEMA $pg_schema"
  if out="$("${PODMAN_CMD[@]}" run --rm --network host --read-only --tmpfs /tmp "${env[@]}" "$image" node migrate.js 2>&1)"; then
    ok "node migrate.js: $(tail -1 <<<"$out" | cut -c1-150)"; else bad "node migrate.js: $out"; fi
fi

start=$SECONDS
"${PODMAN_CMD[@]}" run -d --name "$name" --network host --read-only --tmpfs /tmp:rw,size=64m,mode=1777 \
  --cap-drop ALL --security-opt no-new-privileges \
  -e "GRPC_PORT=$grpc" -e "HTTP_PORT=$http" -e LOG_LEVEL=info "${env[@]}" "$image" >/dev/null
code=000
for _ in $(seq "${READY_TIMEOUT:-90}"); do
  code="$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$http/health/ready" || true)"
  [[ $code == 200 ]] && break
  [[ "$("${PODMAN_CMD[@]}" inspect --format '{{.State.Running}}' "$name")" == true ]] || break
  sleep 1
done
if [[ $code == 200 ]]; then ok "GET /health/ready -> 200 after $((SECONDS - start))s"; else
  bad "GET /health/ready -> $code"; "${PODMAN_CMD[@]}" logs --tail 30 "$name" >&2 || true; exit 1; fi
curl -s "http://127.0.0.1:$http/health/ready"; echo

if list="$("$GRPCURL" -plaintext "127.0.0.1:$grpc" list 2>&1)" && grep -qx "$service" <<<"$list"; then
  ok "grpcurl list: $(tr '\n' ' ' <<<"$list")"; else bad "grpcurl list: $list"; fi

if [[ $app == storage ]]; then
  logs="$("${PODMAN_CMD[@]}" logs "$name" 2>&1)"
  grep -q 'applied CQL migrations' <<<"$logs" && ok "CQL migrations from /app/migrations applied to $keyspace" \
    || bad "no 'applied CQL migrations' in the log"
fi
pid1="$("${PODMAN_CMD[@]}" exec "$name" cat /proc/1/comm)"
[[ $pid1 == tini ]] && ok "PID 1 is tini" || bad "PID 1 is $pid1"
# every process of the container: pid, uid, gid, command line
procs="$("${PODMAN_CMD[@]}" exec "$name" sh -c 'for d in /proc/[0-9]*; do
  [ -r "$d/status" ] || continue
  printf "%s uid=%s gid=%s %s\n" "${d#/proc/}" "$(awk "/^Uid:/{print \$2}" "$d/status")" "$(awk "/^Gid:/{print \$2}" "$d/status")" "$(tr "\0\n" "  " <"$d/cmdline" | cut -c1-60)"
done')"
sed 's/^/        /' <<<"$procs"
grep -q 'uid=1000 gid=1000 node main.js' <<<"$procs" && ok "node main.js runs as 1000:1000" || bad "node main.js not running as 1000:1000"
! grep -v 'uid=1000 gid=1000' <<<"$procs" | grep -q . && ok "no process runs as another user" || bad "a process runs as another user"
"${PODMAN_CMD[@]}" exec "$name" sh -c 'touch /app/x 2>/dev/null' && bad "/app is writable" || ok "root filesystem read-only"
"${PODMAN_CMD[@]}" exec "$name" sh -c 'touch /tmp/x' && ok "/tmp writable" || bad "/tmp not writable"

stop=$SECONDS
"${PODMAN_CMD[@]}" stop --time 20 "$name" >/dev/null
exit_code="$("${PODMAN_CMD[@]}" inspect --format '{{.State.ExitCode}}' "$name")"
# Nest's shutdown hooks close the app, then re-raise SIGTERM: 143 (128+15) through tini is the clean end; 137 means
# the stop timeout ran out and podman killed it.
[[ $exit_code == 0 || $exit_code == 143 ]] && ok "SIGTERM -> exit $exit_code in $((SECONDS - stop))s" || bad "SIGTERM -> exit $exit_code in $((SECONDS - stop))s"
"${PODMAN_CMD[@]}" logs --tail 3 "$name" 2>&1 | cut -c1-200 | sed 's/^/        /'
exit $fail
