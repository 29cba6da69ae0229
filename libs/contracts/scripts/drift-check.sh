#!/usr/bin/env bash
# Fails when regenerating the contracts from proto/ changes the generated files in the tree
# (libs/contracts/src/gen and proto/descriptor_set.binpb): generated code is committed and must match.
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
generated=(libs/contracts/src/gen proto/descriptor_set.binpb)
snapshot() { find "${generated[@]}" -type f -print0 | sort -z | xargs -0 sha256sum; }
before=$(snapshot)
npx nx run contracts:generate --skip-nx-cache >/dev/null
after=$(snapshot)
if [[ "$before" != "$after" ]]; then
  echo "contracts drift: the generated files differ from what proto/ generates:" >&2
  diff <(echo "$before") <(echo "$after") >&2 || true
  echo "Run 'npx nx run contracts:generate' and commit the result." >&2
  exit 1
fi
echo "contracts: generated code matches proto/"
