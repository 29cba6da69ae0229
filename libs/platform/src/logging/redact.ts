/**
 * What never reaches a log line: credentials, tokens, authorization metadata and passwords, whether they sit in a
 * field of the logged object (removed by path, pino's `redact`) or inside a text (an error message quoting a
 * connection string, a header echoed in a message), where `scrubSecrets` replaces them.
 */
export const REDACTED = '[redacted]';

const SECRET_FIELDS = [
  'authorization',
  'Authorization',
  '["x-api-key"]',
  'apiKey',
  'api_key',
  'PULSE_API_KEY',
  'password',
  'PG_PASSWORD',
  'REDIS_PASSWORD',
  'token',
  'accessToken',
  'access_token',
  'refreshToken',
  'refresh_token',
  'idToken',
  'id_token',
  'secret',
  'clientSecret',
  'client_secret',
  'credentials',
  'cookie',
];

/** pino `redact` paths: each secret field at the top level and one or two objects down (headers, metadata, config, ...). */
export const REDACT_PATHS = SECRET_FIELDS.flatMap((field) => {
  const tail = field.startsWith('[') ? field : `.${field}`;
  return [field, `*${tail}`, `*.*${tail}`];
});

const RULES: [RegExp, string][] = [
  // scheme://user:password@host and scheme://:password@host (postgres, redis, amqp, http ...)
  [/([a-z][a-z0-9+.-]*:\/\/[^\s:@/]*):[^\s@/]*@/gi, `$1:${REDACTED}@`],
  // libpq key=value connection strings and query strings: password=..., pwd=...
  [/\b(password|passwd|pwd)=([^\s&;]+)/gi, `$1=${REDACTED}`],
  // Authorization headers as text
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/g, `$1 ${REDACTED}`],
  // Pulse API keys: the public id stays, the secret goes
  [/\b(pk_[0-9a-f]{12}_)[A-Za-z0-9_-]+/g, `$1${REDACTED}`],
  // JWTs (header.payload.signature, base64url JSON)
  [/\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g, REDACTED],
];

/** The text with every credential, token and password it contains replaced by `[redacted]`. */
export function scrubSecrets(text: string): string {
  let out = text;
  for (const [pattern, replacement] of RULES) out = out.replace(pattern, replacement);
  return out;
}

/** A copy of `value` with `scrubSecrets` applied to every string inside it (objects and arrays, a few levels deep). */
export function scrubDeep<T>(value: T, depth = 4): T {
  if (typeof value === 'string') return scrubSecrets(value) as T;
  if (depth === 0 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => scrubDeep(v, depth - 1)) as T;
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value; // errors have their own serializer; class instances stay as they are
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = scrubDeep(v, depth - 1);
  return out as T;
}
