# shellcheck shell=bash
# Redis 7 (Debian bookworm ships 7.0.x), in-memory only: no RDB, no AOF.

REDIS_PORT=${REDIS_PORT:-26379}
REDIS_TIMEOUT=${REDIS_TIMEOUT:-30}

REDIS_HOME="$STACK_DIR/redis"   # pid, log, working dir

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
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --protected-mode yes \
    --save "" --appendonly no \
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
