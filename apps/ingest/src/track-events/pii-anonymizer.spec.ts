import { ingestV1 } from '@pulse/contracts';
import { type AnonymizerSettings, PiiAnonymizer, truncateIp } from './pii-anonymizer';

const DEFAULTS: AnonymizerSettings = { ip: 'truncate', userAgent: 'hash', ipv4PrefixBits: 24, ipv6PrefixBits: 48, salt: 'salt' };
const UA = 'Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0';

function event(ipAddress: string, userAgent: string): ingestV1.ActivityEvent {
  return {
    eventId: 'e-1',
    userId: 'u-1',
    type: ingestV1.ActivityType.ACTIVITY_TYPE_VIEW,
    target: { type: ingestV1.TargetType.TARGET_TYPE_POST, id: 'p-1' },
    occurredAt: { seconds: 1, nanos: 0 },
    sessionId: '',
    properties: {},
    recommendationId: '',
    context: {
      platform: ingestV1.Platform.PLATFORM_WEB,
      appVersion: '1.0',
      userAgent,
      ipAddress,
      locale: 'en-GB',
      timeZone: 'Europe/London',
    },
  };
}

describe('PiiAnonymizer (IP and User-Agent at ingest)', () => {
  it('truncates IPv4 to a /24 and IPv6 to a /48 by default, and hashes the User-Agent', () => {
    const out = new PiiAnonymizer(DEFAULTS).event(event('203.0.113.77', UA));
    expect(out.context).toMatchObject({ ipAddress: '203.0.113.0', locale: 'en-GB', appVersion: '1.0' });
    expect(out.context!.userAgent).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(out)).not.toContain('Firefox');
    expect(new PiiAnonymizer(DEFAULTS).ip('2001:db8:85a3:8d3:1319:8a2e:370:7348')).toBe('2001:db8:85a3::');
  });

  it('hashes the same value to the same text (still countable), differently under another salt', () => {
    const a = new PiiAnonymizer({ ...DEFAULTS, ip: 'hash' });
    const b = new PiiAnonymizer({ ...DEFAULTS, ip: 'hash', salt: 'other' });
    expect(a.ip('198.51.100.4')).toBe(a.ip('198.51.100.4'));
    expect(a.ip('198.51.100.4')).not.toBe(a.ip('198.51.100.5'));
    expect(a.ip('198.51.100.4')).not.toBe(b.ip('198.51.100.4'));
    expect(a.ip('198.51.100.4')).not.toContain('198.51');
  });

  it('drops or keeps as configured, and leaves events without context untouched', () => {
    const drop = new PiiAnonymizer({ ...DEFAULTS, ip: 'drop', userAgent: 'drop' }).event(event('203.0.113.77', UA));
    expect(drop.context).toMatchObject({ ipAddress: '', userAgent: '' });
    const keep = new PiiAnonymizer({ ...DEFAULTS, ip: 'none', userAgent: 'none' }).event(event('203.0.113.77', UA));
    expect(keep.context).toMatchObject({ ipAddress: '203.0.113.77', userAgent: UA });
    const bare = { ...event('', ''), context: undefined };
    expect(new PiiAnonymizer(DEFAULTS).event(bare)).toBe(bare);
  });

  it('truncates by any prefix length, IPv4-mapped IPv6 as IPv4, and empties what is not an address', () => {
    expect(truncateIp('10.1.2.3', 16, 48)).toBe('10.1.0.0');
    expect(truncateIp('10.1.2.3', 0, 48)).toBe('0.0.0.0');
    expect(truncateIp('::ffff:192.0.2.99', 24, 48)).toBe('192.0.2.0');
    expect(truncateIp('::1', 24, 48)).toBe('::');
    expect(truncateIp('fe80::1:2:3:4', 24, 64)).toBe('fe80::');
    expect(truncateIp('2001:db8:abcd:12ff::1', 24, 52)).toBe('2001:db8:abcd:1000::');
    expect(truncateIp('not-an-ip', 24, 48)).toBe('');
  });
});
