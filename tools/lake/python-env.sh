#!/usr/bin/env bash
# A Python virtualenv with the lake's reference readers: delta-rs (`deltalake`), the Rust
# implementation of Delta Lake, read by the lake's integration tests. Idempotent and cached:
# prints the venv's python path; a second run costs nothing.
#   tools/lake/python-env.sh            delta-rs only
#   tools/lake/python-env.sh --spark    also PySpark and delta-spark (tools/lake/verify-spark.sh)
set -euo pipefail
DELTALAKE_VERSION=1.6.6
CACHE=${PULSE_TOOLS_CACHE:-$HOME/.cache/pulse-tools}
VENV=$CACHE/lake-venv-deltalake-$DELTALAKE_VERSION
log() { printf '[lake-python] %s\n' "$*" >&2; }

command -v python3 >/dev/null || { echo "[lake-python] error: python3 is required" >&2; exit 1; }
if [[ ! -x $VENV/bin/python ]] || ! "$VENV/bin/python" -c 'import deltalake' 2>/dev/null; then
  log "creating $VENV with deltalake==$DELTALAKE_VERSION (PyPI)"
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "deltalake==$DELTALAKE_VERSION"
fi
if [[ ${1:-} == --spark ]]; then
  # Spark 3.5 runs on Java 8, 11 and 17; delta-spark 3.3 is built for Spark 3.5 (Scala 2.12).
  PYSPARK_VERSION=3.5.3
  DELTA_SPARK_VERSION=3.3.0
  if ! "$VENV/bin/python" - "$PYSPARK_VERSION" "$DELTA_SPARK_VERSION" 2>/dev/null <<'PY'
import sys
from importlib.metadata import version
sys.exit(0 if (version("pyspark"), version("delta-spark")) == (sys.argv[1], sys.argv[2]) else 1)
PY
  then
    log "installing pyspark==$PYSPARK_VERSION and delta-spark==$DELTA_SPARK_VERSION into $VENV (PyPI; Spark fetches the Delta jars from Maven Central)"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "pyspark==$PYSPARK_VERSION" "delta-spark==$DELTA_SPARK_VERSION"
  fi
fi
echo "$VENV/bin/python"
