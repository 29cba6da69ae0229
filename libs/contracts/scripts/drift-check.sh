#!/usr/bin/env bash
# Fails when regenerating the contracts changes the committed tree under libs/contracts/src/gen.
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
npx nx run contracts:generate --skip-nx-cache >/dev/null
if ! git diff --exit-code --stat -- libs/contracts/src/gen proto/descriptor_set.binpb || [ -n "$(git status --porcelain -- libs/contracts/src/gen proto/descriptor_set.binpb)" ]; then
  echo "contracts drift: libs/contracts/src/gen differs from what proto/ generates." >&2
  echo "Run 'npx nx run contracts:generate' and commit the result." >&2
  git status --porcelain -- libs/contracts/src/gen proto/descriptor_set.binpb >&2
  exit 1
fi
echo "contracts: generated code matches proto/"
