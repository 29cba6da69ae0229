/**
 * Every scope a Pulse credential can carry, once: an RPC declares the one it needs next to its handler
 * (`@RequiresScope`), an API key or a JWT grants a set of them. `admin` grants every other scope too.
 */
export const SCOPES = {
  'events:write': 'track and validate user actions (ingest)',
  'recs:read': 'ask for recommendations and read the model registry (recommender)',
  'features:read': 'read online and historical features and the feature registry (feature-store)',
  'features:write': 'push feature values and start materialisations (feature-store)',
  'storage:read': 'read profiles, the social graph, activity and media (storage)',
  'storage:write': 'write profiles, follows and media (storage)',
  'ops:read':
    "read the operational status of cdc, etl, the simulator and analytics (connectors, streams, snapshots, backfills, rates, jobs and their runs) and the platform's log lines (logs)",
  'experiments:read': 'read experiments, their assignments and their results (experiments)',
  'privacy:read': 'read erasure jobs, their progress per store and their audit (privacy)',
  'privacy:erase':
    "erase a user from every store (privacy's EraseUser; storage's EraseUserData and the feature store's DeleteEntity, which the privacy service calls)",
  admin:
    'everything, including the operations that change how the platform runs (promote, pause, vacuum, delete, sweep, start and stop experiments, the rate of the simulator, run analytics jobs)',
} as const;

export type Scope = keyof typeof SCOPES;

export const ALL_SCOPES = Object.keys(SCOPES) as Scope[];

export function isScope(value: string): value is Scope {
  return Object.prototype.hasOwnProperty.call(SCOPES, value);
}

/** Whether a set of granted scopes allows `required` (`admin` allows everything). */
export function grants(granted: readonly string[], required: Scope): boolean {
  return granted.includes(required) || granted.includes('admin');
}

/** Parses `a,b c` (commas or spaces) into scopes; throws naming the unknown ones. */
export function parseScopes(text: string): Scope[] {
  const words = text
    .split(/[\s,]+/)
    .map((w) => w.trim())
    .filter(Boolean);
  const unknown = words.filter((w) => !isScope(w));
  if (unknown.length > 0)
    throw new Error(`unknown scope${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}; known: ${ALL_SCOPES.join(', ')}`);
  if (words.length === 0) throw new Error(`at least one scope is needed; known: ${ALL_SCOPES.join(', ')}`);
  return [...new Set(words)] as Scope[];
}
