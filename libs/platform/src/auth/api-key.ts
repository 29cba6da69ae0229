import { createHash, randomBytes } from 'node:crypto';

/** `pk_<key id: 12 hex>_<secret: 32 random bytes, base64url>`; the id is public (logs, listings), the whole is the secret. */
const API_KEY = /^pk_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

export interface NewApiKey {
  /** Shown once to whoever issued it; only its hash is stored. */
  key: string;
  keyId: string;
  hash: string;
}

/** A fresh API key with 256 bits of entropy, its public id and the hash that is stored. */
export function generateApiKey(): NewApiKey {
  const keyId = randomBytes(6).toString('hex');
  const key = `pk_${keyId}_${randomBytes(32).toString('base64url')}`;
  return { key, keyId, hash: hashApiKey(key) };
}

/**
 * SHA-256 of the key, hex. The key has 256 random bits, so a fast unsalted hash is enough: nothing about it can be
 * guessed from the stored hash, and lookups stay one indexed read.
 */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** Whether the text has the shape of a Pulse API key (not whether it is valid). */
export function looksLikeApiKey(text: string): boolean {
  return text.startsWith('pk_');
}

/** The public id of a well-formed key, undefined for anything else. */
export function apiKeyId(key: string): string | undefined {
  return API_KEY.exec(key)?.[1];
}
