#!/usr/bin/env bash
# A Python virtualenv with GrowthBook's stats engine (`gbstats`, PyPI) and the references the experiments
# service's results are checked against (scipy.stats, statsmodels). Idempotent and cached like
# tools/lake/python-env.sh: prints the venv's python path; a second run costs nothing.
#   tools/experiments/python-env.sh
set -euo pipefail
# gbstats 0.8.0 requires numpy < 2 and pandas < 2; the rest are pinned so every machine computes the same.
PACKAGES=(gbstats==0.8.0 numpy==1.26.4 pandas==1.5.3 scipy==1.13.1 statsmodels==0.14.4 pydantic==2.9.2 nbformat==5.10.4)
KEY=$(printf '%s\n' "${PACKAGES[@]}" | sha256sum | cut -c1-12)
CACHE=${PULSE_TOOLS_CACHE:-$HOME/.cache/pulse-tools}
VENV=$CACHE/experiments-venv-$KEY
log() { printf '[experiments-python] %s\n' "$*" >&2; }

command -v python3 >/dev/null || { echo "[experiments-python] error: python3 is required" >&2; exit 1; }
if [[ ! -x $VENV/bin/python ]] || ! "$VENV/bin/python" -c 'import gbstats, scipy, statsmodels' 2>/dev/null; then
  log "creating $VENV with ${PACKAGES[*]} (PyPI)"
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "${PACKAGES[@]}"
fi
echo "$VENV/bin/python"
