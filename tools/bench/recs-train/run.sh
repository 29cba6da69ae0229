#!/usr/bin/env bash
# Recommender training bench: TF.js (tfjs-node, wasm, cpu) beside PyTorch on the same split; one JSON line.
# See tools/bench/README.md (recs-train).
set -euo pipefail
# shellcheck source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

bench_check_node
bench_ensure_build recommender "$BENCH_REPO/dist/apps/recommender/recs.js" \
  apps/recommender/src apps/recommender/project.json apps/recommender/webpack.config.js apps/recommender/tsconfig.app.json \
  libs/platform/src libs/contracts/src tsconfig.base.json package-lock.json

# The PyTorch anchor: a venv with torch from PyPI, cached. If it cannot be made, the JSON says why.
TORCH_VENV=${PULSE_TOOLS_CACHE:-$HOME/.cache/pulse-tools}/torch-venv
if [[ ! -x $TORCH_VENV/bin/python ]] || ! "$TORCH_VENV/bin/python" -c 'import torch, numpy' 2>/dev/null; then
  bench_log "installing the PyTorch anchor into $TORCH_VENV (pip install torch numpy; several GB)"
  { python3 -m venv "$TORCH_VENV" && "$TORCH_VENV/bin/pip" install --quiet torch numpy; } >&2 ||
    bench_log "PyTorch could not be installed; the JSON reports no anchor"
fi
export RECS_BENCH_TORCH_PYTHON=$TORCH_VENV/bin/python
cd "$BENCH_REPO"
bench_run_ts tools/bench/recs-train/run.ts "$@"
