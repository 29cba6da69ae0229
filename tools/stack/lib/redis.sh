# shellcheck shell=bash
# Redis 7 (Debian bookworm ships 7.0.x), in-memory only: no RDB, no AOF.

REDIS_PORT=${REDIS_PORT:-26379}
REDIS_TIMEOUT=${REDIS_TIMEOUT:-30}
# tools/stack/ha: a replica of the server on REDIS_REPLICAOF (a port on 127.0.0.1), and Sentinels.
REDIS_REPLICAOF=${REDIS_REPLICAOF:-}

REDIS_HOME="$STACK_DIR/redis"   # pid, log, working dir
# A TLS port beside the plaintext one (certificate from the stack's CA; client certificates optional), and ACL users
# for the services, each confined to its key prefix (users.acl; passwords generated once). The default user stays
# open on both ports locally; production turns it off. Empty: neither (the replicated stack of tools/stack/ha).
REDIS_TLS_PORT=${REDIS_TLS_PORT-26381}
# ACL user name → key pattern (what the service's REDIS_*PREFIX defaults to; privacy erases references everywhere).
REDIS_ACL_USERS=("pulse-ingest ~pulse:ingest:*" "pulse-features ~pulse:fs:*" "pulse-recs ~pulse:recs:*" "pulse-privacy ~pulse:*")

redis_port() { echo "$REDIS_PORT"; }
redis_log() { echo "$REDIS_HOME/redis.log"; }

# Redis rewrites its command line ("redis-server 127.0.0.1:PORT"), so a live
# pid is recognised by that name plus its working directory (--dir).
redis_pid() {
  local pid
  pid=$(read_pidfile "$REDIS_HOME/redis.pid" "redis-server") || return 1
  if [[ $(readlink "/proc/$pid/cwd" 2>/dev/null) == "$(readlink -f "$REDIS_HOME")" ]]; then
    echo "$pid"
  else
    rm -f "$REDIS_HOME/redis.pid"
    return 1
  fi
}

redis_password_file() { echo "$REDIS_HOME/${1:?user}.password"; }

# The ACL users (passwords generated once, stored hashed in users.acl, which is written on every start and takes no
# comments) and the TLS port's key pair.
redis_prepare_security() {
  [[ -n $REDIS_TLS_PORT ]] || return 0
  mkdir -p "$REDIS_HOME"
  [[ -s $STACK_DIR/certs/redis.pem ]] || certs_issue "$STACK_DIR/certs" redis >/dev/null
  local entry user pattern file
  {
    echo "user default on nopass ~* &* +@all"
    for entry in "${REDIS_ACL_USERS[@]}"; do
      read -r user pattern <<<"$entry"
      file=$(redis_password_file "$user")
      [[ -s $file ]] || (umask 077 && openssl rand -hex 24 >"$file")
      echo "user $user on #$(tr -d '\n' <"$file" | sha256sum | cut -d' ' -f1) resetkeys $pattern resetchannels &pulse:* +@all -@dangerous +info"
    done
  } >"$REDIS_HOME/users.acl"
}

redis_install() {
  if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
    log "redis: installing redis-server (apt-get) ..."
    apt_install redis-server redis-tools
  fi
}

redis_launch() {
  check_port_free redis "$REDIS_PORT"
  mkdir -p "$REDIS_HOME"
  rotate_log "$REDIS_HOME/redis.log"
  local replica=() secure=()
  [[ -n $REDIS_REPLICAOF ]] && replica=(--replicaof 127.0.0.1 "$REDIS_REPLICAOF")
  redis_prepare_security
  if [[ -n $REDIS_TLS_PORT ]]; then
    check_port_free redis "$REDIS_TLS_PORT"
    secure=(--aclfile "$REDIS_HOME/users.acl" --tls-port "$REDIS_TLS_PORT" --tls-cert-file "$STACK_DIR/certs/redis.pem"
      --tls-key-file "$STACK_DIR/certs/redis.key" --tls-ca-cert-file "$STACK_DIR/certs/ca.pem" --tls-auth-clients optional)
  fi
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --protected-mode yes \
    --save "" --appendonly no ${replica[@]+"${replica[@]}"} ${secure[@]+"${secure[@]}"} \
    --daemonize yes --pidfile "$REDIS_HOME/redis.pid" \
    --logfile "$REDIS_HOME/redis.log" --dir "$REDIS_HOME" ||
    die "redis: redis-server failed to start; see $REDIS_HOME/redis.log"
}

redis_ready() {
  [[ $(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]]
}

redis_wait() {
  local i pid=""
  for ((i = 0; i < 50; i++)); do # the pid file appears once daemonized
    pid=$(redis_pid) && break
    sleep 0.1
  done
  wait_until redis "$REDIS_TIMEOUT" "$(redis_log)" "$pid" redis_ready
}

redis_stop() {
  local pid
  pid=$(redis_pid) || return 0
  stop_pid redis "$pid" "${REDIS_STOP_TIMEOUT:-10}"
  rm -f "$REDIS_HOME/redis.pid"
}

# --- Sentinel (tools/stack/ha) ----------------------------------------------
# A Redis Sentinel on SENTINEL_PORT watching the primary on SENTINEL_MONITOR_PORT as `pulse` (quorum 2): it
# promotes the replica when the primary is down for 2 s. Debian's redis-sentinel package; the config file is
# Sentinel's own state (it rewrites it), written once.

SENTINEL_PORT=${SENTINEL_PORT:-26380}
SENTINEL_MONITOR_PORT=${SENTINEL_MONITOR_PORT:-$REDIS_PORT}
SENTINEL_HOME="$STACK_DIR/sentinel"

sentinel_port() { echo "$SENTINEL_PORT"; }
sentinel_log() { echo "$SENTINEL_HOME/sentinel.log"; }

sentinel_pid() {
  local pid
  pid=$(read_pidfile "$SENTINEL_HOME/sentinel.pid" "redis-") || return 1
  if [[ $(readlink "/proc/$pid/cwd" 2>/dev/null) == "$(readlink -f "$SENTINEL_HOME")" ]]; then
    echo "$pid"
  else
    rm -f "$SENTINEL_HOME/sentinel.pid"
    return 1
  fi
}

sentinel_install() {
  if ! command -v redis-sentinel >/dev/null; then
    log "sentinel: installing redis-sentinel (apt-get) ..."
    apt_install redis-sentinel
  fi
}

sentinel_launch() {
  check_port_free sentinel "$SENTINEL_PORT"
  mkdir -p "$SENTINEL_HOME"
  rotate_log "$SENTINEL_HOME/sentinel.log"
  if [[ ! -f $SENTINEL_HOME/sentinel.conf ]]; then
    cat >"$SENTINEL_HOME/sentinel.conf" <<EOF
# Written once by tools/stack/ha; Sentinel keeps its state here from then on.
bind 127.0.0.1
port $SENTINEL_PORT
sentinel monitor pulse 127.0.0.1 $SENTINEL_MONITOR_PORT 2
sentinel down-after-milliseconds pulse 2000
sentinel failover-timeout pulse 10000
sentinel parallel-syncs pulse 1
EOF
  fi
  redis-sentinel "$SENTINEL_HOME/sentinel.conf" --daemonize yes --pidfile "$SENTINEL_HOME/sentinel.pid" \
    --logfile "$SENTINEL_HOME/sentinel.log" --dir "$SENTINEL_HOME" ||
    die "sentinel: redis-sentinel failed to start; see $SENTINEL_HOME/sentinel.log"
}

sentinel_ready() {
  [[ $(redis-cli -h 127.0.0.1 -p "$SENTINEL_PORT" ping 2>/dev/null) == PONG ]]
}

sentinel_wait() {
  local i pid=""
  for ((i = 0; i < 50; i++)); do
    pid=$(sentinel_pid) && break
    sleep 0.1
  done
  wait_until sentinel "$REDIS_TIMEOUT" "$(sentinel_log)" "$pid" sentinel_ready
}

sentinel_stop() {
  local pid
  pid=$(sentinel_pid) || return 0
  stop_pid sentinel "$pid" 10
  rm -f "$SENTINEL_HOME/sentinel.pid"
}
