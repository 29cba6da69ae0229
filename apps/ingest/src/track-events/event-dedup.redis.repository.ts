import { Inject, Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { LOGGER, type Logger, REDIS_CLIENT, ServiceMetrics } from '@pulse/platform';
import type Redis from 'ioredis';
import { randomUUID } from 'node:crypto';
import { Counter, Gauge } from 'prom-client';
import { INGEST_CONFIG, type IngestConfig } from '../config/ingest.config';

/**
 * The window of accepted ids: WINDOW_SETS sets, an id's fingerprint in one of them (eventFingerprint) as an integer
 * that carries the time bucket it was accepted in (DedupWindow), so Redis keeps each set as an intset (8 bytes an
 * entry, sorted) while it holds at most `set-max-intset-entries` (512 by default) — about 10 bytes per event instead of
 * a key of its own (~146 bytes, tools/bench/ingest). A claim key (prefix + id) exists only while a call writes the
 * event. The sets' keys hold a space, which no event id does.
 */
export const WINDOW_SETS = 32_768;
/**
 * Time buckets are told apart by their number modulo TAGS, carried in each member's last decimal digit: the members
 * of one id for several buckets differ in that digit alone, so its fingerprint is turned into a string once.
 */
const TAGS = 8;

/**
 * The ids a script works on come in one argument, a line per id: `<id> <set> <fingerprint digits>\n` (ids hold no
 * space). One string instead of several arguments per id: ioredis spends ~0.5 µs of ingest's thread on each argument,
 * and Lua's pattern matching costs Redis less than that. The keys are built here, not declared in KEYS: Pulse's Redis
 * is one primary (standalone or Sentinel), not a cluster. ARGV[1] is the key prefix and ARGV[2] the tags to read or
 * write (digits, `,`-separated).
 */
const IDS_LUA = `
local prefix = ARGV[1]
local tags = {}
for t in string.gmatch(ARGV[2], '%d') do tags[#tags + 1] = t end
local function inWindow(set, digits)
  local members = {}
  for j = 1, #tags do members[j] = digits .. tags[j] end
  local found = redis.call('SMISMEMBER', prefix .. 'window ' .. set, unpack(members))
  for j = 1, #tags do if found[j] == 1 then return true end end
  return false
end
`;
const EACH_ID = "for id, set, digits in string.gmatch(ARGV[3], '(%S+) (%d+) (%d+)\\n') do";

/**
 * Per id (ARGV[3]): 1 when accepted within the window — in its set under any tag read, or `1` under its claim key (how
 * ids were kept before the sets) — else 0. ValidateEvents: nothing claimed.
 */
const SEEN_SCRIPT = `${IDS_LUA}
local out = {}
${EACH_ID}
  local state = 0
  if redis.call('GET', prefix .. id) == '1' or inWindow(set, digits) then state = 1 end
  out[#out + 1] = state
end
return out`;

/**
 * Claims the ids of a call's events (ARGV[3]); ARGV[4..7]: the claim value, claim TTL, writer key and writer TTL. A
 * claim key (prefix + id) holds \`p\\n<writer key>\\n<call>\` while the call writes the event. Per id: 0 = claimed for this
 * call (free, already this call's, or left by a writer that is gone), 1 = accepted earlier, 2 = being written by a live
 * writer's call.
 */
const CLAIM_SCRIPT = `${IDS_LUA}
redis.call('SET', ARGV[6], '1', 'PX', ARGV[7])
local out = {}
${EACH_ID}
  local claimKey = prefix .. id
  local state = 0
  local check = false
  local v = redis.call('SET', claimKey, ARGV[4], 'NX', 'PX', ARGV[5], 'GET')
  if not v then
    check = true
  elseif v ~= ARGV[4] then
    if string.sub(v, 1, 2) ~= 'p\\n' then
      state = 1
    else
      local writer = string.match(v, '^p\\n([^\\n]*)\\n')
      if writer and redis.call('EXISTS', writer) == 1 then
        state = 2
      else
        redis.call('SET', claimKey, ARGV[4], 'PX', ARGV[5])
        check = true
      end
    end
  end
  if check and inWindow(set, digits) then
    state = 1
    redis.call('DEL', claimKey)
  end
  out[#out + 1] = state
end
return out`;

/**
 * Adds each id (ARGV[3]) to its set under the current bucket's tag (ARGV[2]), and drops its claim; then gives the sets
 * in ARGV[4] (`,`-separated numbers: those this replica had not touched yet in this bucket) ARGV[5] ms to live, so no
 * set is left without an expiry, even where no sweep ever comes.
 */
const MARK_SCRIPT = `${IDS_LUA}
local n = 0
${EACH_ID}
  redis.call('SADD', prefix .. 'window ' .. set, digits .. tags[1])
  redis.call('DEL', prefix .. id)
  n = n + 1
end
for set in string.gmatch(ARGV[4], '%d+') do redis.call('PEXPIRE', prefix .. 'window ' .. set, ARGV[5]) end
return n`;

/**
 * Sweeps sets (KEYS): removes the members whose tag (the last digit) is not in ARGV[1] (`,`-separated tags, with
 * a leading and a trailing comma), and gives each set that still holds members ARGV[2] ms to live (a window nobody
 * sweeps any more goes away by itself). Returns the members removed and the sets Redis no longer keeps as intsets.
 */
const SWEEP_SCRIPT = `
local removed, large = 0, 0
for i = 1, #KEYS do
  local stale = {}
  for _, m in ipairs(redis.call('SMEMBERS', KEYS[i])) do
    if not string.find(ARGV[1], ',' .. string.sub(m, -1) .. ',', 1, true) then stale[#stale + 1] = m end
  end
  for j = 1, #stale, 1000 do
    removed = removed + redis.call('SREM', KEYS[i], unpack(stale, j, math.min(j + 999, #stale)))
  end
  if redis.call('PEXPIRE', KEYS[i], ARGV[2]) == 1 and redis.call('OBJECT', 'ENCODING', KEYS[i]) ~= 'intset' then
    large = large + 1
  end
end
return {removed, large}`;

/** Frees the keys this call claimed and did not write (ARGV[1]: its claim value). */
const RELEASE_SCRIPT = "for i = 1, #KEYS do if redis.call('GET', KEYS[i]) == ARGV[1] then redis.call('DEL', KEYS[i]) end end return 0";

/** How long a writer counts as alive after its last sign (each claim, and a beat every WRITER_BEAT_MS). */
const WRITER_TTL_MS = 10_000;
const WRITER_BEAT_MS = 2_000;

/** A bucket close to its end is looked at together with the next: another replica's clock may be ahead of this one's. */
const CLOCK_SKEW_MS = 60_000;
/** How long one replica may take over a sweep of the window before another may start it again. */
const SWEEP_LOCK_MS = 10 * 60_000;
/** Sets swept by one script: a few milliseconds of Redis at a time. */
const SWEEP_CHUNK = 512;

/**
 * Where an event id goes in the window: one of WINDOW_SETS sets (15 bits of a 64-bit hash of the id) and a 48-bit
 * fingerprint (48 other bits), written as decimal digits: its high 24 bits as they are, then its low 24 bits plus 2^24,
 * always 8 digits — two small integers, which V8 turns into strings much faster than one 48-bit number. Two ids in the
 * same set share a fingerprint with a chance of one in 2.8·10^14 per pair: at 512 ids a set, one false duplicate in
 * about 5·10^11 events. Not a keyed hash: ids are the clients' own, and finding another client's id to collide with
 * would take knowing it.
 */
export function eventFingerprint(eventId: string): { set: number; digits: string } {
  // Two 32-bit lanes over the id's characters, each mixed with the other at the end (multiply-xorshift, as MurmurHash3's
  // finaliser), so every output bit depends on every input character.
  let a = 0x9e3779b9;
  let b = 0x85ebca6b;
  for (let i = 0; i < eventId.length; i++) {
    const c = eventId.charCodeAt(i);
    a = Math.imul(a ^ c, 0xcc9e2d51);
    b = Math.imul(b ^ c, 0x1b873593);
    a = (a << 15) | (a >>> 17);
    b = (b << 13) | (b >>> 19);
  }
  a ^= eventId.length;
  a = Math.imul(a ^ (a >>> 16), 0x85ebca6b);
  a ^= Math.imul(b ^ (b >>> 13), 0xc2b2ae35);
  b = Math.imul(b ^ (b >>> 16), 0x85ebca6b);
  b ^= Math.imul(a ^ (a >>> 13), 0xc2b2ae35);
  a ^= a >>> 16;
  b ^= b >>> 16;
  const high = ((b & 0xffff) << 8) | (a >>> 24);
  const low = (a & 0xffffff) + 0x1000000;
  return { set: (b >>> 16) % WINDOW_SETS, digits: high === 0 ? String(low) : `${high}${low}` };
}

/** The member of an id's fingerprint digits accepted in bucket `bucket`: the digits followed by the bucket's tag. */
export function windowMember(digits: string, bucket: number): string {
  return digits + tagOf(bucket);
}

/** The tag of a time bucket: its number modulo TAGS, one digit. */
function tagOf(bucket: number): number {
  return ((bucket % TAGS) + TAGS) % TAGS;
}

/** A script's answer per id; one missing means an id the script could not read, which no valid event_id is. */
function statesOf(reply: unknown, eventIds: readonly string[]): number[] {
  if (!Array.isArray(reply) || reply.length !== eventIds.length) {
    throw new Error(`the dedup script answered for ${Array.isArray(reply) ? reply.length : 0} of ${eventIds.length} ids`);
  }
  return reply as number[];
}

/** The ids as the scripts read them (IDS_LUA): `<id> <set> <fingerprint digits>\n` each. */
function idLines(eventIds: readonly string[], onSet?: (set: number) => void): string {
  let lines = '';
  for (const id of eventIds) {
    const { set, digits } = eventFingerprint(id);
    onSet?.(set);
    lines += `${id} ${set} ${digits}\n`;
  }
  return lines;
}

/**
 * The time buckets of the window of accepted ids. An id accepted at `t` is tagged with the bucket of `t` (buckets are
 * half of INGEST_DEDUP_TTL wide, numbered from the epoch); a look-up reads the current bucket and the two before it (and
 * the next, near a boundary), so an id is known for at least the TTL. At the start of each bucket the sets are swept of
 * the members of older buckets: an id is remembered for between one and one and a half TTLs.
 */
export class DedupWindow {
  readonly widthMs: number;

  constructor(ttlMs: number) {
    this.widthMs = Math.max(1, Math.ceil(ttlMs / 2));
  }

  /** The bucket that holds ids accepted at `nowMs`. */
  bucket(nowMs: number): number {
    return Math.floor(nowMs / this.widthMs);
  }

  /** The buckets a look-up at `nowMs` reads, the current one first. */
  lookup(nowMs: number): number[] {
    const current = this.bucket(nowMs);
    const buckets = [current, current - 1, current - 2];
    if ((current + 1) * this.widthMs - nowMs <= Math.min(CLOCK_SKEW_MS, this.widthMs / 4)) buckets.push(current + 1);
    return buckets;
  }

  /** The tags a sweep at `nowMs` keeps: those of every bucket a look-up may read until the next sweep. */
  liveTags(nowMs: number): number[] {
    const current = this.bucket(nowMs);
    return [current - 2, current - 1, current, current + 1].map(tagOf);
  }

  /** How long a swept set lives if no sweep comes after: until every id in it has been known for the TTL. */
  get setTtlMs(): number {
    return 4 * this.widthMs;
  }
}

/** What a claim of a call's event ids found. */
export interface Claim {
  /** Ids accepted by earlier calls: duplicates. */
  accepted: Set<string>;
  /** Ids an earlier call (of this replica or another) is still writing. */
  pending: string[];
}

/**
 * Remembers accepted event_ids in Redis for the dedup window, shared by every ingest replica: as fingerprints in
 * WINDOW_SETS sets, about 10 bytes an event. A call first claims its events' ids: an id another call is still writing
 * (its records queued behind a Kafka outage, say) is `pending`, so a client's retry of a call that has not finished yet
 * writes nothing again; the call marks its ids accepted once Kafka acknowledged the records (adding them to the window
 * and dropping the claims), or releases them when the write failed, so a failed write never turns a retry into a false
 * duplicate. A claim lasts as long as its writer (the replica) gives signs of life: a replica that dies mid-write leaves
 * its events claimable by the next call within WRITER_TTL_MS. One replica sweeps the window at the start of each bucket.
 * When Redis is down, dedup is skipped rather than refusing events: the count shows on /metrics.
 */
@Injectable()
export class EventDedupRepository implements OnModuleInit, OnModuleDestroy {
  private readonly skipped: Counter;
  private readonly swept: Counter;
  private readonly largeSets: Gauge;
  /** This replica's sign of life; the ids cannot hold a space, so it meets no event's key. */
  private readonly writerKey: string;
  /** Longer than any write may wait for Kafka: two delivery timeouts (one queued behind another) and a minute. */
  private readonly claimTtlMs: number;
  private readonly window: DedupWindow;
  private readonly prefix: string;
  /** Per set, whether this replica renewed its expiry in the bucket `expiryBucket`. */
  private readonly setsWithExpiry = new Uint8Array(WINDOW_SETS);
  private expiryBucket = -1;
  private beat?: NodeJS.Timeout;
  private sweeper?: NodeJS.Timeout;
  private sweeping?: Promise<void>;

  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    @Inject(INGEST_CONFIG) private readonly config: IngestConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    metrics: ServiceMetrics,
  ) {
    this.skipped = new Counter({
      name: 'ingest_dedup_unavailable_total',
      help: 'Dedup look-ups or marks skipped because Redis did not answer',
      registers: [metrics.registry],
    });
    this.swept = new Counter({
      name: 'ingest_dedup_window_swept_total',
      help: 'Event ids dropped from the dedup window once older than its TTL',
      registers: [metrics.registry],
    });
    this.largeSets = new Gauge({
      name: 'ingest_dedup_window_large_sets',
      help: 'Sets of the dedup window Redis no longer keeps as intsets (more ids than set-max-intset-entries), at the last sweep',
      registers: [metrics.registry],
    });
    this.prefix = config.INGEST_DEDUP_KEY_PREFIX;
    this.writerKey = `${this.prefix}writer ${randomUUID()}`;
    this.claimTtlMs = 2 * config.KAFKA_DELIVERY_TIMEOUT + 60_000;
    this.window = new DedupWindow(config.INGEST_DEDUP_TTL);
  }

  onModuleInit(): void {
    this.beat = setInterval(() => {
      this.redis.set(this.writerKey, '1', 'PX', WRITER_TTL_MS).catch(() => undefined);
    }, WRITER_BEAT_MS);
    this.beat.unref();
    const sweepEvery = Math.min(this.window.widthMs / 4, CLOCK_SKEW_MS);
    this.sweeper = setInterval(() => void this.sweepOnce(), sweepEvery);
    this.sweeper.unref();
    void this.checkEviction();
  }

  /** The beat stops; the writer key expires on its own, so calls still draining keep their claims until then. */
  async onModuleDestroy(): Promise<void> {
    clearInterval(this.beat);
    clearInterval(this.sweeper);
    await this.sweeping;
  }

  /**
   * Says so when Redis may evict the window's keys (a memory limit with an eviction policy, as a Redis shared with the
   * feature store's online rows is set up): evicted ids come back as new events. Where CONFIG is not allowed (an ACL
   * user without @dangerous), nothing is said.
   */
  private async checkEviction(): Promise<void> {
    try {
      const [, policy] = (await this.redis.config('GET', 'maxmemory-policy')) as string[];
      const [, maxmemory] = (await this.redis.config('GET', 'maxmemory')) as string[];
      if (Number(maxmemory) > 0 && policy !== 'noeviction') {
        this.logger.warn(
          { maxmemory: Number(maxmemory), policy },
          "Redis may evict the dedup window's keys (maxmemory with an eviction policy): give ingest a Redis of its own with maxmemory-policy noeviction",
        );
      }
    } catch {
      // CONFIG refused or Redis away: nothing to say.
    }
  }

  /** The subset of `eventIds` already accepted within the window (ValidateEvents: nothing claimed). */
  async seen(eventIds: readonly string[]): Promise<Set<string>> {
    if (eventIds.length === 0) return new Set();
    try {
      const tags = this.window.lookup(Date.now()).map(tagOf).join(',');
      const states = statesOf(await this.redis.eval(SEEN_SCRIPT, 0, this.prefix, tags, idLines(eventIds)), eventIds);
      return new Set(eventIds.filter((_, i) => states[i] === 1));
    } catch (error) {
      this.skipped.inc();
      this.logger.warn({ err: error }, 'dedup look-up skipped: redis unavailable');
      return new Set();
    }
  }

  /** Claims `eventIds` for the call `callId` in one command; calling it again for the same call keeps what it holds. */
  async claim(eventIds: readonly string[], callId: string): Promise<Claim> {
    if (eventIds.length === 0) return { accepted: new Set(), pending: [] };
    try {
      const tags = this.window.lookup(Date.now()).map(tagOf).join(',');
      const states = statesOf(
        await this.redis.eval(
          CLAIM_SCRIPT,
          0,
          this.prefix,
          tags,
          idLines(eventIds),
          this.claimValue(callId),
          this.claimTtlMs,
          this.writerKey,
          WRITER_TTL_MS,
        ),
        eventIds,
      );
      return {
        accepted: new Set(eventIds.filter((_, i) => states[i] === 1)),
        pending: eventIds.filter((_, i) => states[i] === 2),
      };
    } catch (error) {
      this.skipped.inc();
      this.logger.warn({ err: error }, 'dedup claim skipped: redis unavailable');
      return { accepted: new Set(), pending: [] };
    }
  }

  /** Frees what the call claimed and did not write (its write failed, or it gave way to an earlier call). */
  async release(eventIds: readonly string[], callId: string): Promise<void> {
    if (eventIds.length === 0) return;
    try {
      await this.redis.eval(RELEASE_SCRIPT, eventIds.length, ...eventIds.map((id) => this.claimKey(id)), this.claimValue(callId));
    } catch (error) {
      // The claims expire with this replica's writer key or their TTL.
      this.skipped.inc();
      this.logger.warn({ err: error }, 'dedup release skipped: redis unavailable');
    }
  }

  /** One command per batch: the ids join the window in the current bucket, their claims are dropped. */
  async markAccepted(eventIds: readonly string[]): Promise<void> {
    if (eventIds.length === 0) return;
    const bucket = this.window.bucket(Date.now());
    if (bucket !== this.expiryBucket) {
      this.expiryBucket = bucket;
      this.setsWithExpiry.fill(0);
    }
    // The sets touched for the first time in this bucket get their expiry (renewed): a few per call, ≤ WINDOW_SETS a bucket.
    const fresh: number[] = [];
    const lines = idLines(eventIds, (set) => {
      if (this.setsWithExpiry[set] === 0) {
        this.setsWithExpiry[set] = 1;
        fresh.push(set);
      }
    });
    try {
      await this.redis.eval(MARK_SCRIPT, 0, this.prefix, tagOf(bucket), lines, fresh.join(','), this.window.setTtlMs);
    } catch (error) {
      for (const set of fresh) this.setsWithExpiry[set] = 0;
      this.skipped.inc();
      this.logger.warn({ err: error }, 'dedup mark skipped: redis unavailable');
    }
  }

  /**
   * Sweeps the window for the bucket of `nowMs` unless a replica did (or is doing) it: drops the ids older than the
   * window, and renews each set's time to live. Returns the ids dropped, or undefined when there was nothing to do.
   */
  async sweep(nowMs = Date.now()): Promise<number | undefined> {
    const bucket = this.window.bucket(nowMs);
    const done = `${this.prefix}window-swept ${bucket}`;
    if ((await this.redis.exists(done)) === 1) return undefined;
    if ((await this.redis.set(`${this.prefix}window-sweeping ${bucket}`, this.writerKey, 'PX', SWEEP_LOCK_MS, 'NX')) !== 'OK') {
      return undefined;
    }
    const tags = `,${this.window.liveTags(nowMs).join(',')},`;
    let removed = 0;
    let large = 0;
    for (let first = 0; first < WINDOW_SETS; first += SWEEP_CHUNK) {
      const keys = Array.from({ length: Math.min(SWEEP_CHUNK, WINDOW_SETS - first) }, (_, i) => this.setKey(first + i));
      const [r, l] = (await this.redis.eval(SWEEP_SCRIPT, keys.length, ...keys, tags, this.window.setTtlMs)) as number[];
      removed += r;
      large += l;
    }
    await this.redis.set(done, '1', 'PX', 2 * this.window.widthMs);
    this.swept.inc(removed);
    this.largeSets.set(large);
    this.logger.info({ bucket, removed, largeSets: large }, 'dedup window swept');
    if (large > 0) {
      this.logger.warn(
        { largeSets: large },
        'some sets of the dedup window hold more ids than set-max-intset-entries: raise it in Redis, or they take ~6x the memory',
      );
    }
    return removed;
  }

  private sweepOnce(): void {
    if (this.sweeping) return;
    this.sweeping = this.sweep()
      .then(() => undefined)
      .catch((error: unknown) => this.logger.warn({ err: error }, 'dedup window sweep failed; retried at the next interval'))
      .finally(() => (this.sweeping = undefined));
  }

  private claimValue(callId: string): string {
    return `p\n${this.writerKey}\n${callId}`;
  }

  private claimKey(eventId: string): string {
    return this.prefix + eventId;
  }

  private setKey(set: number): string {
    return `${this.prefix}window ${set}`;
  }
}
