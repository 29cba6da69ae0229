import { GrpcStatusError } from '@pulse/platform';
import { dayOf, decodePageToken, encodePageToken, pageSize } from './page-token';

describe('page tokens', () => {
  it('round-trips a position and encodes "no more pages" as an empty token', () => {
    const token = encodePageToken({ b: 20_000, s: 'AQID' });
    expect(token).not.toContain('{');
    expect(decodePageToken(token)).toEqual({ b: 20_000, s: 'AQID' });
    expect(encodePageToken(undefined)).toBe('');
    expect(decodePageToken('')).toBeUndefined();
  });

  it('refuses a token it did not issue, naming the field', () => {
    expect(() => decodePageToken('garbage!')).toThrow(GrpcStatusError);
    expect(() => decodePageToken(Buffer.from('{"b":"x"}').toString('base64url'))).toThrow(/page_token/);
  });

  it('defaults the page size to 50 and refuses more than 1000', () => {
    expect(pageSize(0)).toBe(50);
    expect(pageSize(7)).toBe(7);
    expect(() => pageSize(1001)).toThrow(/page_size/);
  });

  it('buckets by UTC day', () => {
    expect(dayOf(Date.UTC(1970, 0, 2, 23, 59))).toBe(1);
  });
});
