# shellcheck shell=bash
# PostgreSQL 15 from Debian packages, run as the `postgres` OS user
# (the server refuses to run as root).
#
# Data lives in .stack/postgres. If the postgres user cannot reach that folder
# (a parent directory not traversable by it), the data goes to
# /var/lib/postgresql/pulse-stack-<hash of the .stack path> instead and
# .stack/postgres becomes a symlink to it.

PG_PORT=${PG_PORT:-25432}
PG_TIMEOUT=${PG_TIMEOUT:-60}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
# tools/stack/ha: a streaming replica of the server on PG_PRIMARY_PORT (pg_basebackup, physical slot
# PG_REPLICA_SLOT), and with PG_ARCHIVE=1 a WAL archive in <data's parent>/archive (point-in-time recovery).
PG_PRIMARY_PORT=${PG_PRIMARY_PORT:-}
PG_REPLICA_SLOT=${PG_REPLICA_SLOT:-pulse_replica}
PG_ARCHIVE=${PG_ARCHIVE:-0}
# A server restored for disaster recovery (tools/dr): its data starts as a copy of the base backup in
# PG_RESTORE_BACKUP (pg_basebackup -Fp), then replays the WAL of PG_RESTORE_ARCHIVE (directories separated by ':',
# e.g. the primary's archive and a pg_receivewal directory; a segment's `.partial` file is used when no directory has it
# whole) to its end and is promoted.
PG_RESTORE_BACKUP=${PG_RESTORE_BACKUP:-}
PG_RESTORE_ARCHIVE=${PG_RESTORE_ARCHIVE:-}
# 1: TLS on the same port (ssl = on, a certificate from the stack's CA; clients choose with sslmode), 0: none
# (the replicated stack of tools/stack/ha).
PG_TLS=${PG_TLS:-1}

PG_LINK="$STACK_DIR/postgres"

# Real (symlink-resolved) folder holding data/, run/ (unix socket), postgres.log.
pg_base() { readlink -f "$PG_LINK" 2>/dev/null || echo "$PG_LINK"; }
pg_data() { echo "$(pg_base)/data"; }
pg_archive_dir() { echo "$(pg_base)/archive"; }

postgres_port() { echo "$PG_PORT"; }
postgres_log() { echo "$(pg_base)/postgres.log"; }

postgres_pid() {
  local pidfile
  pidfile="$(pg_data)/postmaster.pid"
  [[ -f $pidfile ]] || return 1
  local pid
  pid=$(head -n1 "$pidfile" | tr -dc '0-9')
  pid_matches "$pid" "$(pg_data)" && echo "$pid"
}

postgres_install() {
  if [[ ! -x $PG_BIN/postgres ]]; then
    log "postgres: installing PostgreSQL 15 (apt-get) ..."
    apt_install postgresql
    [[ -x $PG_BIN/postgres ]] || die "postgres: $PG_BIN/postgres still missing after apt-get install postgresql"
  fi
  id postgres >/dev/null 2>&1 || die "postgres: OS user 'postgres' missing (it comes with the postgresql package)"
}

# as_pg CMD...: run CMD as the postgres user.
as_pg() {
  if ((EUID == 0)); then
    runuser -u postgres -- "$@"
  elif [[ $(id -un) == postgres ]]; then
    "$@"
  else
    die "postgres: run as root (or as the postgres user)"
  fi
}

# Choose the data location once: .stack/postgres if postgres can reach it.
pg_prepare_base() {
  [[ -e $PG_LINK ]] && return 0
  if as_pg test -x "$STACK_DIR" 2>/dev/null; then
    mkdir -p "$PG_LINK"
  else
    local alt
    alt="/var/lib/postgresql/pulse-stack-$(echo -n "$STACK_DIR" | sha256sum | cut -c1-12)"
    log "postgres: user postgres cannot reach $STACK_DIR; data goes to $alt (symlinked from $PG_LINK)"
    mkdir -p "$alt"
    ln -sfn "$alt" "$PG_LINK"
  fi
  chown postgres:postgres "$(pg_base)"
  chmod 700 "$(pg_base)"
}

postgres_init_once() {
  pg_prepare_base
  local base data
  base=$(pg_base)
  data=$(pg_data)
  [[ -f $data/PG_VERSION ]] && return 0
  if [[ -n $PG_PRIMARY_PORT ]]; then
    postgres_basebackup_once "$base" "$data"
    return 0
  fi
  if [[ -n $PG_RESTORE_BACKUP ]]; then
    postgres_restore_once "$base" "$data"
    return 0
  fi
  log "postgres: initdb $data"
  as_pg mkdir -p "$base/run"
  if ! as_pg "$PG_BIN/initdb" -D "$data" -U postgres -E UTF8 --locale=C.UTF-8 \
    --auth-local=trust --auth-host=md5 >"$base/initdb.log" 2>&1; then
    cat "$base/initdb.log" >&2
    die "postgres: initdb failed; see $base/initdb.log"
  fi
  # md5 also accepts the (default) scram-sha-256 password hashes
  as_pg tee "$data/pg_hba.conf" >/dev/null <<'EOF'
# TYPE  DATABASE     USER  ADDRESS        METHOD
local   all          all                  trust
local   replication  all                  trust
host    all          all   127.0.0.1/32   md5
host    replication  all   127.0.0.1/32   md5
EOF
  echo "include_if_exists = 'pulse.conf'" | as_pg tee -a "$data/postgresql.conf" >/dev/null
}

# A standby's data: a base backup of the primary streamed over a physical slot, with standby.signal and
# primary_conninfo written (-R); it replays the primary's WAL from then on.
postgres_basebackup_once() {
  local base=$1 data=$2
  log "postgres: base backup of 127.0.0.1:$PG_PRIMARY_PORT into $data (streaming replica, slot $PG_REPLICA_SLOT)"
  if ! as_pg env PGPASSWORD=pulse "$PG_BIN/pg_basebackup" -h 127.0.0.1 -p "$PG_PRIMARY_PORT" -U pulse -D "$data" \
    -R -X stream -C -S "$PG_REPLICA_SLOT" >"$base/basebackup.log" 2>&1; then
    cat "$base/basebackup.log" >&2
    die "postgres: pg_basebackup failed; see $base/basebackup.log"
  fi
}

# Point-in-time recovery: the base backup copied in, recovery.signal, and the archive as restore_command (written by
# postgres_write_config); the server replays every archived segment, then ends recovery on a new timeline.
postgres_restore_once() {
  local base=$1 data=$2
  [[ -f $PG_RESTORE_BACKUP/PG_VERSION ]] || die "postgres: $PG_RESTORE_BACKUP is not a base backup (no PG_VERSION)"
  local dir
  IFS=: read -r -a dirs <<<"$PG_RESTORE_ARCHIVE"
  for dir in "${dirs[@]}"; do [[ -d $dir ]] || die "postgres: $dir (in PG_RESTORE_ARCHIVE) is not a directory"; done
  log "postgres: restoring $data from the base backup $PG_RESTORE_BACKUP and the WAL archive $PG_RESTORE_ARCHIVE"
  as_pg mkdir -p "$base/run"
  cp -a "$PG_RESTORE_BACKUP" "$data"
  chown -R postgres:postgres "$data"
  chmod 700 "$data"
  # The primary's standby settings and slots do not come along: this server stands alone.
  rm -f "$data/standby.signal" "$data/postgresql.auto.conf"
  as_pg touch "$data/recovery.signal"
}

# The restore_command over PG_RESTORE_ARCHIVE's directories: a whole segment from the first that has it, else a
# .partial one (what pg_receivewal had of the segment being written).
pg_restore_command() {
  local dirs
  dirs=$(tr ':' ' ' <<<"$PG_RESTORE_ARCHIVE")
  printf 'for d in %s; do [ -f $d/%%f ] && exec cp $d/%%f %%p; done; for d in %s; do [ -f $d/%%f.partial ] && exec cp $d/%%f.partial %%p; done; exit 1' "$dirs" "$dirs"
}

postgres_write_config() {
  local base
  base=$(pg_base)
  as_pg mkdir -p "$base/run"
  if [[ $PG_TLS == 1 ]]; then
    # The server reads its key only if the postgres user owns it and nobody else can read it.
    [[ -s $STACK_DIR/certs/postgres.pem ]] || certs_issue "$STACK_DIR/certs" postgres >/dev/null
    as_pg mkdir -p "$base/tls"
    as_pg tee "$base/tls/server.crt" <"$STACK_DIR/certs/postgres.pem" >/dev/null
    as_pg tee "$base/tls/server.key" <"$STACK_DIR/certs/postgres.key" >/dev/null
    as_pg chmod 600 "$base/tls/server.key"
  fi
  as_pg tee "$(pg_data)/pulse.conf" >/dev/null <<EOF
# Generated by tools/stack/stack on every start; edit lib/postgres.sh instead.
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$base/run'
max_connections = 200
wal_level = logical
max_replication_slots = 10
max_wal_senders = 10
fsync = on
synchronous_commit = on
hot_standby = on
$(if [[ $PG_TLS == 1 ]]; then
    printf "ssl = on\nssl_cert_file = '%s'\nssl_key_file = '%s'\nssl_min_protocol_version = 'TLSv1.2'\n" "$base/tls/server.crt" "$base/tls/server.key"
  fi)
$(if [[ -n $PG_RESTORE_ARCHIVE ]]; then
    printf "restore_command = '%s'\nrecovery_target_timeline = 'latest'\n" "$(pg_restore_command)"
  fi)
$(if [[ $PG_ARCHIVE == 1 ]]; then
    printf "archive_mode = on\narchive_command = 'test ! -f %s/%%f && cp %%p %s/%%f'\narchive_timeout = 10s\n" "$(pg_archive_dir)" "$(pg_archive_dir)"
  fi)
EOF
  [[ $PG_ARCHIVE == 1 ]] && as_pg mkdir -p "$(pg_archive_dir)"
  return 0
}

# A postmaster.pid left by a killed server: give the dead postmaster a moment
# to be reaped (postgres refuses to start while that pid exists); if the pid
# now belongs to an unrelated process, the file is removed.
postgres_clear_stale_pidfile() {
  local pidfile pid i
  pidfile="$(pg_data)/postmaster.pid"
  [[ -f $pidfile ]] || return 0
  pid=$(head -n1 "$pidfile" | tr -dc '0-9')
  for ((i = 0; i < 100; i++)); do
    [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  if ! tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q postgres; then
    log "postgres: removing stale $pidfile (pid $pid is not a postgres process)"
    rm -f "$pidfile"
  fi
}

postgres_launch() {
  check_port_free postgres "$PG_PORT"
  postgres_init_once
  postgres_clear_stale_pidfile
  postgres_write_config
  local log
  log=$(postgres_log)
  [[ -f $log ]] && as_pg mv -f "$log" "$log.prev"
  # -W: do not wait here; postgres_wait polls pg_isready
  setsid runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$(pg_data)" -l "$log" -s -W start \
    >>"$(pg_base)/pg_ctl.log" 2>&1 ||
    die "postgres: pg_ctl start failed; see $(pg_base)/pg_ctl.log and $log"
}

postgres_ready() {
  "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"
}

# Out of recovery (a restored server has replayed its archive and been promoted).
postgres_writable() {
  [[ $(as_pg "$PG_BIN/psql" -X -At -h "$(pg_base)/run" -p "$PG_PORT" -d postgres -c 'SELECT pg_is_in_recovery()' 2>/dev/null) == f ]]
}

postgres_wait() {
  local i pid=""
  for ((i = 0; i < 100; i++)); do # postmaster.pid appears within a second
    pid=$(postgres_pid) && break
    sleep 0.1
  done
  wait_until postgres "$PG_TIMEOUT" "$(postgres_log)" "$pid" postgres_ready || return 1
  # a standby has the primary's roles and cannot create any; a restored server ends its recovery first
  [[ -f $(pg_data)/standby.signal ]] && return 0
  wait_until postgres "$PG_TIMEOUT" "$(postgres_log)" "$pid" postgres_writable || return 1
  postgres_ensure_role
}

# Role `pulse` (password pulse) and database `pulse`, created once.
postgres_ensure_role() {
  as_pg "$PG_BIN/psql" -X -q -h "$(pg_base)/run" -p "$PG_PORT" -d postgres -v ON_ERROR_STOP=1 >/dev/null <<'EOF'
SELECT 'CREATE ROLE pulse WITH LOGIN SUPERUSER REPLICATION PASSWORD ''pulse'''
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'pulse') \gexec
SELECT 'CREATE DATABASE pulse OWNER pulse'
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'pulse') \gexec
EOF
}

postgres_stop() {
  local pid
  pid=$(postgres_pid) || return 0
  # fast shutdown: disconnect clients, checkpoint, exit
  if ! as_pg "$PG_BIN/pg_ctl" -D "$(pg_data)" -m fast -w -t "${PG_STOP_TIMEOUT:-30}" -s stop; then
    log "postgres: pg_ctl stop timed out, killing pid $pid"
    kill -QUIT "$pid" 2>/dev/null || true
    stop_pid postgres "$pid" 5
  fi
}

# --- WAL streamed to another region (tools/stack/ha instance walreceiver-b) ---------------------------------------
# pg_receivewal of the server on WAL_SOURCE_PORT over its own physical slot, flushing each record as it arrives
# (--synchronous): the archive of the region that survives, down to the transaction being written (Barman's streaming).
WAL_SOURCE_PORT=${WAL_SOURCE_PORT:-35432}
WAL_SLOT=${WAL_SLOT:-pulse_region_b}
WAL_DIR="$STACK_DIR/wal"

walreceiver_port() { echo "127.0.0.1:$WAL_SOURCE_PORT -> $WAL_DIR"; }
walreceiver_log() { echo "$WAL_DIR/receivewal.log"; }
walreceiver_pid() { read_pidfile "$WAL_DIR/receivewal.pid" "$WAL_DIR/segments"; }
walreceiver_install() { postgres_install; }

walreceiver_launch() {
  mkdir -p "$WAL_DIR/segments"
  chown postgres:postgres "$WAL_DIR" "$WAL_DIR/segments"
  touch "$WAL_DIR/receivewal.log" && chown postgres:postgres "$WAL_DIR/receivewal.log"
  as_pg env PGPASSWORD=pulse "$PG_BIN/pg_receivewal" -h 127.0.0.1 -p "$WAL_SOURCE_PORT" -U pulse --slot "$WAL_SLOT" \
    --create-slot --if-not-exists >>"$WAL_DIR/receivewal.log" 2>&1 || die "walreceiver: could not create slot $WAL_SLOT"
  launch_bg "$WAL_DIR/receivewal.pid" "$WAL_DIR/segments" "$WAL_DIR/receivewal.log" \
    runuser -u postgres -- env PGPASSWORD=pulse "$PG_BIN/pg_receivewal" -h 127.0.0.1 -p "$WAL_SOURCE_PORT" -U pulse \
    --slot "$WAL_SLOT" --synchronous --no-loop -D "$WAL_DIR/segments"
}

walreceiver_ready() { compgen -G "$WAL_DIR/segments/*.partial" >/dev/null; }

walreceiver_wait() { wait_until walreceiver 60 "$(walreceiver_log)" "$(walreceiver_pid)" walreceiver_ready; }

walreceiver_stop() {
  local pid
  pid=$(walreceiver_pid) || return 0
  stop_pid walreceiver "$pid" 10
  rm -f "$WAL_DIR/receivewal.pid"
}
