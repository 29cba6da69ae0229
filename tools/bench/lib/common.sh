# shellcheck shell=bash
# Shared by tools/bench/*/run.sh: repo paths, the pinned Node, stack checks, stale-build detection.

BENCH_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
BENCH_NODE="$BENCH_REPO/node_modules/.bin/node"
BENCH_STACK="$BENCH_REPO/tools/stack/stack"

bench_die() { printf 'bench: error: %s\n' "$*" >&2; exit 1; }
bench_log() { printf 'bench: %s\n' "$*" >&2; }

# The workspace pins Node 24 as an npm package; the machine's node may be older.
bench_check_node() {
  [[ -x $BENCH_NODE ]] || bench_die "$BENCH_NODE is missing (npm ci in $BENCH_REPO)"
  local major
  major=$("$BENCH_NODE" -p 'process.versions.node.split(".")[0]')
  ((major >= 24)) || bench_die "node $("$BENCH_NODE" --version) found, Node >= 24 needed (type stripping)"
}

# bench_check_stack NAME...: the named servers of tools/stack must be running.
bench_check_stack() {
  local status name
  status=$("$BENCH_STACK" status) || bench_die "tools/stack/stack status failed"
  for name in "$@"; do
    grep -qE "^$name +running" <<<"$status" ||
      bench_die "$name is not running (start the stack: tools/stack/stack up)"
  done
}

# bench_ensure_build PROJECT OUTPUT INPUT...: nx build PROJECT when OUTPUT is missing or older
# than any file under the INPUT paths.
bench_ensure_build() {
  local project=$1 output=$2
  shift 2
  local reason=""
  if [[ ! -f $output ]]; then
    reason="missing"
  else
    local newer
    # (files may come and go while others edit: find's complaints are not our failure)
    newer=$( (cd "$BENCH_REPO" && find "$@" -type f -newer "$output" -print -quit) 2>/dev/null || true)
    [[ -z $newer ]] || reason="stale ($newer changed)"
  fi
  if [[ -n $reason ]]; then
    bench_log "building $project: ${output#"$BENCH_REPO"/} $reason"
    (cd "$BENCH_REPO" && npx nx build "$project" --skip-nx-cache >&2) || bench_die "nx build $project failed"
  fi
}

# bench_run_ts FILE ARGS...: run a bench script with Node's type stripping; stdout is the JSON line.
bench_run_ts() {
  local file=$1
  shift
  exec "$BENCH_NODE" --disable-warning=MODULE_TYPELESS_PACKAGE_JSON --disable-warning=ExperimentalWarning "$file" "$@"
}

# Connection settings of the running stack (KAFKA_BROKERS, REDIS_URL), unless already set.
bench_stack_env() {
  local env_out
  env_out=$("$BENCH_STACK" env) || bench_die "tools/stack/stack env failed"
  [[ -n ${KAFKA_BROKERS:-} ]] || KAFKA_BROKERS=$(sed -n 's/^export KAFKA_BROKERS=//p' <<<"$env_out")
  [[ -n ${REDIS_URL:-} ]] || REDIS_URL=$(sed -n 's/^export REDIS_URL=//p' <<<"$env_out")
  export KAFKA_BROKERS REDIS_URL
}

# ghz for the gRPC benches: the one on PATH or in Go's bin, else `go install`ed; exported as GHZ.
bench_ensure_ghz() {
  GHZ=${GHZ:-$(command -v ghz || echo "$HOME/go/bin/ghz")}
  if [[ ! -x $GHZ ]]; then
    command -v go >/dev/null || bench_die "ghz is missing and there is no go to install it"
    bench_log "installing ghz (go install github.com/bojand/ghz/cmd/ghz@latest)"
    go install github.com/bojand/ghz/cmd/ghz@latest >&2 || bench_die "go install ghz failed"
    GHZ="$(go env GOPATH)/bin/ghz"
  fi
  export GHZ
}
