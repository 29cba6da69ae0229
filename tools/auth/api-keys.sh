#!/usr/bin/env bash
# Issues, lists and revokes the API keys of Pulse's services and clients (stored hashed in PostgreSQL, schema
# pulse_auth). Runs libs/platform/src/auth/api-keys.cli.ts with the workspace's ts-node; see libs/platform/README.md.
#   tools/auth/api-keys.sh issue --name simulator --scopes events:write,recs:read    # prints the key once
#   tools/auth/api-keys.sh list
#   tools/auth/api-keys.sh revoke --name simulator
# PULSE_AUTH_PG_URL / PULSE_AUTH_PG_SCHEMA: where the keys are (default: the local stack's PostgreSQL, pulse_auth).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export PATH="$root/node_modules/.bin:$PATH"
exec node "$root/node_modules/ts-node/dist/bin.js" --transpile-only --project "$root/tsconfig.base.json" \
  "$root/libs/platform/src/auth/api-keys.cli.ts" "$@"
