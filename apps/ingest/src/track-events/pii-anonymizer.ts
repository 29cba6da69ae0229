import type { ingestV1 } from '@pulse/contracts';
import { createHmac } from 'node:crypto';
import { isIP } from 'node:net';

/**
 * What becomes of an IP address at ingest (Snowplow's IP anonymization enrichment and PII pseudonymization):
 * `truncate` zeroes the host part (IPv4 to a /24 by default, IPv6 to a /48), `hash` replaces it with a salted
 * SHA-256 (same address, same value: still countable, no longer an address), `drop` empties it, `none` keeps it.
 */
export type IpPolicy = 'none' | 'truncate' | 'hash' | 'drop';
/** What becomes of a User-Agent at ingest: `hash` (salted SHA-256), `drop` or `none`. */
export type UserAgentPolicy = 'none' | 'hash' | 'drop';

export interface AnonymizerSettings {
  ip: IpPolicy;
  userAgent: UserAgentPolicy;
  /** Bits of an IPv4 address kept by `truncate` (0..32). */
  ipv4PrefixBits: number;
  /** Bits of an IPv6 address kept by `truncate` (0..128). */
  ipv6PrefixBits: number;
  /** Salt of the `hash` policies; a secret, so hashes cannot be matched against guessed values. */
  salt: string;
}

/**
 * Applies the configured policies to the personal fields of an event before it leaves ingest: the client's
 * `context.ip_address` and `context.user_agent`, and the connection's peer address (`IngestMetadata.source_ip`).
 * Events are validated first, on the values as sent.
 */
export class PiiAnonymizer {
  constructor(private readonly settings: AnonymizerSettings) {}

  /** The event with its context's personal fields anonymized (a copy; the input is left as it was). */
  event(event: ingestV1.ActivityEvent): ingestV1.ActivityEvent {
    const c = event.context;
    if (!c || (!c.ipAddress && !c.userAgent)) return event;
    return { ...event, context: { ...c, ipAddress: this.ip(c.ipAddress), userAgent: this.userAgent(c.userAgent) } };
  }

  ip(address: string): string {
    if (!address) return address;
    switch (this.settings.ip) {
      case 'none':
        return address;
      case 'drop':
        return '';
      case 'hash':
        return this.hash('ip', address);
      case 'truncate':
        return truncateIp(address, this.settings.ipv4PrefixBits, this.settings.ipv6PrefixBits);
    }
  }

  userAgent(userAgent: string): string {
    if (!userAgent) return userAgent;
    switch (this.settings.userAgent) {
      case 'none':
        return userAgent;
      case 'drop':
        return '';
      case 'hash':
        return this.hash('ua', userAgent);
    }
  }

  private hash(field: string, value: string): string {
    return createHmac('sha256', this.settings.salt).update(`${field}:${value}`).digest('hex');
  }
}

/** The address with every bit past the prefix zeroed, in canonical text; an unparsable value becomes empty. */
export function truncateIp(address: string, ipv4Bits: number, ipv6Bits: number): string {
  const v4 = address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
  if (isIP(v4) === 4) {
    const n = v4.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0);
    const mask = ipv4Bits <= 0 ? 0 : ipv4Bits >= 32 ? 0xffffffff : (0xffffffff << (32 - ipv4Bits)) >>> 0;
    const kept = (n & mask) >>> 0;
    return [24, 16, 8, 0].map((shift) => (kept >>> shift) & 255).join('.');
  }
  if (isIP(address) !== 6) return '';
  const groups = expandIpv6(address);
  const out = groups.map((g, i) => {
    const bitsBefore = i * 16;
    if (ipv6Bits >= bitsBefore + 16) return g;
    if (ipv6Bits <= bitsBefore) return 0;
    return g & ((0xffff << (16 - (ipv6Bits - bitsBefore))) & 0xffff);
  });
  return compressIpv6(out);
}

function expandIpv6(address: string): number[] {
  let text = address.split('%')[0];
  // An embedded IPv4 tail (::ffff:1.2.3.4 and friends) becomes two groups.
  const v4 = text.match(/(\d+)\.(\d+)\.(\d+)\.(\d+)$/);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number);
    text = text.slice(0, v4.index) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const zeros = tail === undefined ? [] : Array(8 - headGroups.length - tailGroups.length).fill('0');
  return [...headGroups, ...zeros, ...tailGroups].map((g) => parseInt(g, 16));
}

/** RFC 5952 text: the longest run of two or more zero groups as `::`, lower-case hex. */
function compressIpv6(groups: number[]): string {
  let best = { start: -1, length: 0 };
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.length) best = { start: i, length: j - i };
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.length < 2) return hex.join(':');
  return `${hex.slice(0, best.start).join(':')}::${hex.slice(best.start + best.length).join(':')}`;
}
