# shellcheck shell=bash
# Helpers shared by the per-server files (sourced by tools/stack/stack).
#
# Every server file defines the same functions, NAME being kafka, cassandra,
# postgres, redis or s3proxy:
#   NAME_install   make sure binaries / jars are present (idempotent)
#   NAME_launch    start the process in the background, return at once
#   NAME_wait      block until it answers (or fail naming the log to read)
#   NAME_stop      graceful stop, then kill after a timeout
#   NAME_pid       print the pid if running (handles stale pid files)
#   NAME_port      print the client port
#   NAME_log       print the path of the main log file

log()  { printf '%s\n' "stack: $*" >&2; }
die()  { printf '%s\n' "stack: error: $*" >&2; exit 1; }

# try CMD...: run CMD in a subshell with errexit in force (even where the
# caller could not have it, e.g. inside an if), its exit status in TRY_RC.
# Call it as a plain statement, not as a condition.
try() {
  set +e
  (
    set -e
    "$@"
  )
  # shellcheck disable=SC2034 # read by the caller
  TRY_RC=$?
  set -e
}

now_s() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now_s)" 'BEGIN { printf "%.1f", b - a }'; }

# --- processes -------------------------------------------------------------

# pid_matches PID MARKER: true if PID is alive and its command line contains MARKER
# (guards against a stale pid file whose number was reused by another process).
pid_matches() {
  local pid=$1 marker=$2
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  [[ -r /proc/$pid/cmdline ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$marker"
}

# read_pidfile FILE MARKER: print the live pid recorded in FILE; a stale file is removed.
read_pidfile() {
  local file=$1 marker=$2 pid
  [[ -f $file ]] || return 1
  pid=$(head -n1 "$file" 2>/dev/null | tr -dc '0-9')
  if pid_matches "$pid" "$marker"; then
    echo "$pid"
    return 0
  fi
  rm -f "$file"
  return 1
}

# find_pid MARKER: pid of the (single, oldest) process whose command line contains MARKER.
find_pid() {
  pgrep -o -f -- "$1" 2>/dev/null || true
}

# launch_bg PIDFILE MARKER LOGFILE CMD...: run CMD in its own session (so it
# outlives this shell and its process group), stdout/stderr appended to LOGFILE.
launch_bg() {
  local pidfile=$1 marker=$2 logfile=$3 pid
  shift 3
  setsid "$@" </dev/null >>"$logfile" 2>&1 &
  pid=$!
  sleep 0.2
  # setsid forks when it is already a group leader; then look the process up.
  if ! pid_matches "$pid" "$marker"; then
    pid=$(find_pid "$marker")
  fi
  [[ -n $pid ]] || die "$(basename "$pidfile" .pid): process exited at once; see $logfile"
  echo "$pid" >"$pidfile"
}

# stop_pid NAME PID TIMEOUT_S: SIGTERM, wait, then SIGKILL.
stop_pid() {
  local name=$1 pid=$2 timeout=$3 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < timeout * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  log "$name: still running after ${timeout}s, killing pid $pid"
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
}

# rss_mb PID: resident memory of PID and its children, in MiB.
rss_mb() {
  local pid=$1
  { ps -o rss= -p "$pid"; ps -o rss= --ppid "$pid"; } 2>/dev/null |
    awk '{ s += $1 } END { printf "%d", s / 1024 }'
}

# --- network ---------------------------------------------------------------

# port_open PORT [HOST]: something accepts TCP connections on HOST:PORT (default 127.0.0.1).
port_open() {
  (exec 3<>"/dev/tcp/${2:-127.0.0.1}/$1") 2>/dev/null
}

# check_port_free NAME PORT [HOST]: refuse to start when a foreign process holds the port.
check_port_free() {
  if port_open "$2" "${3:-127.0.0.1}"; then
    die "$1: port ${3:-127.0.0.1}:$2 is already in use by another process (see: ss -ltnp 'sport = :$2'); stop it or set a different port"
  fi
}

# wait_until NAME TIMEOUT_S LOGFILE PID CHECK...: poll CHECK until it succeeds.
# Fails early when PID dies, and on timeout names the log file to read.
wait_until() {
  local name=$1 timeout=$2 logfile=$3 pid=$4 deadline
  shift 4
  deadline=$((SECONDS + timeout))
  if [[ -z $pid ]]; then
    log "$name: not running (it exited during startup); last lines of $logfile:"
    tail -n 20 "$logfile" >&2 2>/dev/null || true
    return 1
  fi
  until "$@" >/dev/null 2>&1; do
    if ! kill -0 "$pid" 2>/dev/null; then
      log "$name: process $pid exited during startup; last lines of $logfile:"
      tail -n 20 "$logfile" >&2 2>/dev/null || true
      [[ -s $(dirname "$logfile")/stdout.log ]] && log "$name: JVM output is in $(dirname "$logfile")/stdout.log"
      return 1
    fi
    if ((SECONDS >= deadline)); then
      log "$name: not ready after ${timeout}s; read $logfile"
      return 1
    fi
    sleep 0.25
  done
}

# rotate_log FILE: keep the previous run's log as FILE.prev so readiness
# checks only see lines of the current run.
rotate_log() {
  [[ -f $1 ]] && mv -f "$1" "$1.prev"
  return 0
}

# --- java ------------------------------------------------------------------

java_bin() {
  if [[ -n ${JAVA_HOME:-} ]]; then
    echo "$JAVA_HOME/bin/java"
  else
    command -v java || die "java not found on PATH (a JDK 17..21 is needed; set JAVA_HOME or PATH)"
  fi
}

# check_java: JDK 17..21 only (Cassandra 5.0 does not run on 24+).
check_java() {
  [[ -n ${_JAVA_CHECKED:-} ]] && return 0
  local java ver major
  java=$(java_bin)
  [[ -x $java ]] || die "java not executable: $java"
  ver=$("$java" -version 2>&1 | awk -F'"' '/version/ { print $2; exit }')
  major=${ver%%.*}
  [[ $major == 1 ]] && major=$(echo "$ver" | cut -d. -f2)
  if ! [[ $major =~ ^[0-9]+$ ]] || ((major < 17 || major > 21)); then
    die "java at $java is version '${ver:-unknown}'; Kafka 4.1 and Cassandra 5.0 need JDK 17..21 (set JAVA_HOME)"
  fi
  _JAVA_CHECKED=1
}

# --- jars ------------------------------------------------------------------

# resolve_jars NAME POM: copy POM's runtime dependencies into $STACK_DIR/jars/NAME
# once; re-resolved only when the pom changes.
resolve_jars() {
  local name=$1 pom=$2 dir="$STACK_DIR/jars/$1" stamp want tmp
  stamp="$dir/.pom.sha256"
  want=$(sha256sum "$pom" | cut -d' ' -f1)
  if [[ -f $stamp && $(cat "$stamp") == "$want" ]]; then
    return 0
  fi
  command -v mvn >/dev/null || die "mvn not found; Maven is needed once to fetch the $name jars"
  log "$name: resolving jars with Maven (once) ..."
  tmp="$STACK_DIR/jars/.$name.tmp"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  # run from a temp dir so no target/ folder appears next to the pom
  if ! (cd "$tmp" && mvn -B -q -f "$pom" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$tmp/lib" >"$tmp/mvn.log" 2>&1); then
    tail -n 30 "$tmp/mvn.log" >&2
    die "$name: Maven could not resolve the jars (full output: $tmp/mvn.log)"
  fi
  rm -rf "$dir"
  mv "$tmp/lib" "$dir"
  rm -rf "$tmp"
  echo "$want" >"$stamp"
  log "$name: $(find "$dir" -name '*.jar' | wc -l) jars in $dir"
}

# --- packages --------------------------------------------------------------

_APT_UPDATED=""
# apt_install PKG...: install Debian packages without starting their services.
apt_install() {
  ((EUID == 0)) || die "installing $* needs root (or install them yourself: apt-get install $*)"
  local policy=/usr/sbin/policy-rc.d created=""
  if [[ ! -e $policy ]]; then
    # keep the package's own init script from starting a server on its default port
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && created=1
  fi
  local rc=0
  {
    if [[ -z $_APT_UPDATED ]]; then
      DEBIAN_FRONTEND=noninteractive apt-get update -qq && _APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
  } >"$STACK_DIR/apt.log" 2>&1 || rc=$?
  [[ -n $created ]] && rm -f "$policy"
  ((rc == 0)) || die "apt-get install $* failed; see $STACK_DIR/apt.log"
}
