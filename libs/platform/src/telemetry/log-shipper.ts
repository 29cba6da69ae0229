import type { ShippedLog } from '@pulse/contracts';
import { hostname } from 'node:os';
import { hashPersonalFields } from './personal-data';

/** Where shipped log lines go (Kafka's pulse.logs.v1 in a service; a fake in tests). */
export interface LogSink {
  send(key: string, records: ShippedLog[]): Promise<void>;
  close(): Promise<void>;
}

/** What pino writes a line to. */
export interface LineDestination {
  write(line: string): unknown;
}

export interface LogShipperOptions {
  service: string;
  sink: LogSink;
  /** Where every line is written first, as before shipping existed (stdout). */
  passthrough: LineDestination;
  /** Lines held while the sink is slow or away; beyond it new lines are dropped and counted. */
  maxBuffered: number;
  /** Key of the hash that replaces user ids (see `hashPersonalFields`). */
  hashKey: string;
  /** Send what is buffered at least this often (default 500 ms) … */
  flushIntervalMs?: number;
  /** … or as soon as this many lines wait (default 500); also the most lines one send carries (×4). */
  batchLines?: number;
  /** Pause after a failed send, doubled up to 30 s (default 500 ms). */
  retryMs?: number;
}

export interface LogShipperStats {
  shipped: number;
  /** Lines not shipped because the buffer was full (the sink was slow or away for long). */
  dropped: number;
  /** Lines that were not JSON (never from pino) and were skipped. */
  malformed: number;
  /** Failed sends (each retried with its lines, as long as the buffer has room). */
  failedSends: number;
  buffered: number;
}

/**
 * A pino destination that writes each line to stdout as before and keeps a copy for the log store: lines wait in a
 * bounded buffer and go to the sink in batches from a timer, never on the caller's path, so logging never waits for
 * Kafka. While the sink fails, batches are retried with backoff; a full buffer drops new lines (counted in
 * `stats.dropped`, logged to stdout once per episode). Lines are parsed and their user ids hashed at send time.
 */
export class LogShipper implements LineDestination {
  private buffer: string[] = [];
  private readonly stats_ = { shipped: 0, dropped: 0, malformed: 0, failedSends: 0 };
  private timer?: NodeJS.Timeout;
  private sending?: Promise<void>;
  private stopped = false;
  private droppingSince?: number;
  private failures = 0;
  private pausedUntil = 0;
  private readonly key: string;
  private readonly instance: string;
  private readonly flushIntervalMs: number;
  private readonly batchLines: number;
  private readonly retryMs: number;

  constructor(private readonly options: LogShipperOptions) {
    this.instance = `${hostname()}:${process.pid}`;
    this.key = `${options.service}@${this.instance}`;
    this.flushIntervalMs = options.flushIntervalMs ?? 500;
    this.batchLines = options.batchLines ?? 500;
    this.retryMs = options.retryMs ?? 500;
    this.timer = setInterval(() => void this.flush(), this.flushIntervalMs);
    this.timer.unref();
  }

  write(line: string): void {
    this.options.passthrough.write(line);
    if (this.stopped) return;
    if (this.buffer.length >= this.options.maxBuffered) {
      this.stats_.dropped++;
      this.droppingSince ??= Date.now();
      return;
    }
    this.buffer.push(line);
    if (this.buffer.length === this.batchLines) setImmediate(() => void this.flush());
  }

  get stats(): LogShipperStats {
    return { ...this.stats_, buffered: this.buffer.length };
  }

  /** Sends what is buffered now (one send at a time; a running one is awaited instead). */
  flush(): Promise<void> {
    if (this.sending) return this.sending;
    if (this.buffer.length === 0 || Date.now() < this.pausedUntil) return Promise.resolve();
    this.sending = this.sendBuffered().finally(() => (this.sending = undefined));
    return this.sending;
  }

  /** Ships what is left (waiting at most `timeoutMs`), then closes the sink; later lines go to stdout only. */
  async stop(timeoutMs = 5_000): Promise<void> {
    if (this.stopped) return;
    clearInterval(this.timer);
    this.pausedUntil = 0;
    const deadline = Date.now() + timeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    const drain = (async () => {
      while (this.buffer.length > 0 && Date.now() < deadline && this.failures === 0) await this.flush();
    })();
    await Promise.race([drain, timeout]);
    clearTimeout(timer);
    this.stopped = true;
    await this.options.sink.close().catch(() => undefined);
  }

  private async sendBuffered(): Promise<void> {
    const lines = this.buffer.splice(0, this.batchLines * 4);
    const records: ShippedLog[] = [];
    for (const line of lines) {
      const record = this.toRecord(line);
      if (record) records.push(record);
      else this.stats_.malformed++;
    }
    const dropping = this.droppingSince !== undefined;
    if (dropping) {
      records.push(
        this.notice(
          `log shipping dropped lines: the buffer of ${this.options.maxBuffered} was full (${this.stats_.dropped} dropped so far)`,
        ),
      );
    }
    if (records.length === 0) return;
    try {
      await this.options.sink.send(this.key, records);
      this.stats_.shipped += records.length;
      this.failures = 0;
      if (dropping) {
        this.options.passthrough.write(`${JSON.stringify(records[records.length - 1])}\n`);
        this.droppingSince = undefined;
      }
    } catch {
      this.stats_.failedSends++;
      this.failures++;
      this.pausedUntil = Date.now() + Math.min(30_000, this.retryMs * 2 ** (this.failures - 1));
      // Put the lines back in front, as far as the buffer has room; the rest count as dropped.
      const room = Math.max(0, this.options.maxBuffered - this.buffer.length);
      const kept = lines.slice(Math.max(0, lines.length - room));
      this.stats_.dropped += lines.length - kept.length;
      this.buffer.unshift(...kept);
    }
  }

  private toRecord(line: string): ShippedLog | undefined {
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      return undefined;
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
    const record = hashPersonalFields(parsed as Record<string, unknown>, this.options.hashKey);
    return {
      ...record,
      service: typeof record.service === 'string' ? record.service : this.options.service,
      level: typeof record.level === 'string' ? record.level : String(record.level ?? 'info'),
      time:
        typeof record.time === 'string' ? record.time : new Date(typeof record.time === 'number' ? record.time : Date.now()).toISOString(),
      instance: this.instance,
    };
  }

  private notice(msg: string): ShippedLog {
    return { service: this.options.service, level: 'warn', time: new Date().toISOString(), msg, instance: this.instance };
  }
}
