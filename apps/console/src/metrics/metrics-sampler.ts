import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { LOGGER, type Logger } from '@pulse/platform';
import { CONSOLE_CONFIG, type ConsoleConfig, type PeerName } from '../config/console.config';
import { Peers } from '../peers/peers';
import { parsePrometheusText, type Sample, sumBy } from './prometheus-text';

/** A chart's data as uPlot takes it: shared x (unix seconds) and one value array per series (null: no sample). */
export interface ChartData {
  unit: string;
  x: number[];
  series: { label: string; values: (number | null)[] }[];
}

export type ChartName = 'throughput' | 'lag' | 'slot-lag';

interface Tick {
  at: number;
  values: Map<string, number>;
}

/** Counters whose rates the console charts, read from every peer's /metrics. */
interface CounterReading {
  at: number;
  produced: Map<string, number>;
}

/**
 * Scrapes every peer's /metrics on an interval and keeps, in memory and for the configured window only, what the
 * overview charts: records per second per topic (`kafka_producer_records_total` of the platform's Kafka client,
 * summed over the services writing it), lag per consumer group (`kafka_consumer_lag_records` over the group's
 * partitions, and etl's `etl_stream_lag_records` per stream, whose offsets live in its tables), and the CDC
 * replication slot's lag (`cdc_slot_lag_bytes`). Nothing is stored: a restart starts the charts empty.
 */
@Injectable()
export class MetricsSampler implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer?: NodeJS.Timeout;
  private sampling?: Promise<void>;
  private readonly previous = new Map<PeerName, CounterReading>();
  private readonly ticks: Record<ChartName, Tick[]> = { throughput: [], lag: [], 'slot-lag': [] };
  /** The latest scrape of each peer that answered (for the panels that show current values). */
  private readonly latest = new Map<PeerName, Sample[]>();

  constructor(
    @Inject(CONSOLE_CONFIG) private readonly config: ConsoleConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly peers: Peers,
  ) {}

  onApplicationBootstrap() {
    void this.sample();
    this.timer = setInterval(() => void this.sample(), this.config.CONSOLE_SAMPLE_INTERVAL);
    this.timer.unref();
  }

  async onApplicationShutdown() {
    clearInterval(this.timer);
    await this.sampling;
  }

  /** One scrape of every peer (a slow one is cut by the call deadline); overlapping runs are skipped. */
  sample(): Promise<void> {
    this.sampling ??= this.scrape().finally(() => (this.sampling = undefined));
    return this.sampling;
  }

  /** The samples of a peer's last answered scrape; undefined when it has not answered. */
  samples(name: PeerName): Sample[] | undefined {
    return this.latest.get(name);
  }

  chart(name: ChartName): ChartData {
    const ticks = this.ticks[name];
    const labels = [...new Set(ticks.flatMap((t) => [...t.values.keys()]))].sort();
    return {
      unit: name === 'throughput' ? 'records/s' : name === 'lag' ? 'records' : 'bytes',
      x: ticks.map((t) => t.at / 1000),
      series: labels.map((label) => ({ label, values: ticks.map((t) => t.values.get(label) ?? null) })),
    };
  }

  private async scrape(): Promise<void> {
    const at = Date.now();
    const results = await Promise.all(
      this.peers.all().map(async (peer) => {
        try {
          const answer = await this.peers.http(peer.name, '/metrics');
          return answer.status === 200 ? { name: peer.name, samples: parsePrometheusText(answer.text) } : undefined;
        } catch {
          return undefined; // unreachable: the readiness panel says so; the charts have a gap
        }
      }),
    );
    const throughput = new Map<string, number>();
    const lag = new Map<string, number>();
    const slotLag = new Map<string, number>();
    for (const result of results) {
      if (!result) continue;
      const { name, samples } = result;
      this.latest.set(name, samples);
      const produced = sumBy(samples, 'kafka_producer_records_total', 'topic');
      const before = this.previous.get(name);
      if (before && at > before.at) {
        for (const [topic, total] of produced) {
          // A counter below its last reading means the service restarted: count from zero.
          const delta = total >= (before.produced.get(topic) ?? 0) ? total - (before.produced.get(topic) ?? 0) : total;
          throughput.set(topic, (throughput.get(topic) ?? 0) + delta / ((at - before.at) / 1000));
        }
      }
      this.previous.set(name, { at, produced });
      for (const [group, n] of sumBy(samples, 'kafka_consumer_lag_records', 'group')) lag.set(group, (lag.get(group) ?? 0) + n);
      for (const [stream, n] of sumBy(samples, 'etl_stream_lag_records', 'stream'))
        lag.set(`etl:${stream}`, (lag.get(`etl:${stream}`) ?? 0) + n);
      for (const [slot, n] of sumBy(samples, 'cdc_slot_lag_bytes', 'slot')) slotLag.set(slot, n);
    }
    for (const [chart, values] of [
      ['throughput', throughput],
      ['lag', lag],
      ['slot-lag', slotLag],
    ] as const) {
      const ticks = this.ticks[chart];
      ticks.push({ at, values });
      while (ticks.length > 0 && ticks[0].at < at - this.config.CONSOLE_SAMPLE_WINDOW) ticks.shift();
    }
    this.logger.debug({ answered: results.filter(Boolean).length }, 'metrics sampled');
  }
}
