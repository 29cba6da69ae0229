import { apiKeyId, generateApiKey, hashApiKey, looksLikeApiKey } from './api-key';

describe('API keys', () => {
  it('are pk_<12 hex id>_<43 base64url characters> (256 random bits), each different', () => {
    const keys = Array.from({ length: 50 }, () => generateApiKey());
    for (const { key, keyId } of keys) {
      expect(key).toMatch(/^pk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
      expect(apiKeyId(key)).toBe(keyId);
    }
    expect(new Set(keys.map((k) => k.key)).size).toBe(50);
  });

  it('are stored as the SHA-256 of the whole key, never the key', () => {
    const { key, hash } = generateApiKey();
    expect(hash).toBe(hashApiKey(key));
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(hash).not.toContain(key.slice(16));
    expect(hashApiKey('pk_000000000000_abc')).toBe('f02d223a96855e81f55f208226370b1b3768cf2939aeb24e36757b20beda460e');
  });

  it('are told apart from JWTs by their prefix, and a malformed one has no id', () => {
    expect(looksLikeApiKey('pk_abc')).toBe(true);
    expect(looksLikeApiKey('eyJhbGciOiJSUzI1NiJ9.e30.sig')).toBe(false);
    expect(apiKeyId('pk_short_x')).toBeUndefined();
  });
});
