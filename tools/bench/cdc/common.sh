# shellcheck shell=bash
# Shared by tools/bench/cdc/*.sh: the built cdc service and the Debezium harness jar.

CDC_HARNESS_DIR=${BENCH_DEBEZIUM_DIR:-$BENCH_REPO/.stack/bench/cdc-debezium}

cdc_ensure_builds() {
  # The cdc bundle is built when missing; a stale one is only reported (BENCH_CDC_REBUILD=1 rebuilds it),
  # so a bench run never rebuilds sources that are being edited.
  local dist="$BENCH_REPO/dist/apps/cdc/main.js"
  if [[ ! -f $dist || ${BENCH_CDC_REBUILD:-0} == 1 ]]; then
    bench_ensure_build cdc "$dist" apps/cdc/src apps/cdc/project.json libs/platform/src libs/contracts/src proto
    [[ -f $dist ]] || (cd "$BENCH_REPO" && npx nx build cdc --skip-nx-cache >&2) || bench_die "nx build cdc failed"
  else
    local newer
    newer=$( (cd "$BENCH_REPO" && find apps/cdc/src libs/platform/src -type f -newer "$dist" -print -quit) 2>/dev/null || true)
    [[ -z $newer ]] || bench_log "note: dist/apps/cdc is older than $newer (BENCH_CDC_REBUILD=1 rebuilds it)"
  fi
  local pom="$BENCH_REPO/tools/bench/cdc/debezium/pom.xml" jar="$CDC_HARNESS_DIR/harness.jar" newer=""
  command -v java >/dev/null || bench_die "java (JDK 17+) is needed for the Debezium harness"
  command -v mvn >/dev/null || bench_die "mvn is needed to build the Debezium harness"
  [[ -f $jar ]] && newer=$(find "$BENCH_REPO/tools/bench/cdc/debezium" -type f -newer "$jar" -print -quit)
  if [[ ! -f $jar || -n $newer ]]; then
    bench_log "building the Debezium harness into ${CDC_HARNESS_DIR#"$BENCH_REPO"/}"
    rm -rf "$CDC_HARNESS_DIR/lib"
    mvn -q -f "$pom" package "-DbuildDir=$CDC_HARNESS_DIR" >&2 || bench_die "mvn package of the Debezium harness failed"
  fi
}
