import { CASSANDRA } from '@pulse/platform';
import { Inject, Injectable } from '@nestjs/common';
import type { Client } from 'cassandra-driver';

/**
 * The lease of work that moves the follow counters by difference (the graph reconciliation, recounts): two such
 * passes at once would move a counter twice.
 */
export const GRAPH_COUNTERS_LEASE = { name: 'graph-reconcile', ttlSeconds: 120, renewEveryMs: 30_000 } as const;

/** A lease held: renew it while the work goes on, release it at the end. */
export interface HeldLease {
  readonly name: string;
  readonly owner: string;
  /** Extends the lease by its TTL; false when it was lost (expired and taken, or deleted). */
  renew(): Promise<boolean>;
  release(): Promise<void>;
}

/**
 * Leases of maintenance passes across replicas, in Cassandra itself (lightweight transactions, as Cassandra Reaper
 * coordinates repairs): taken with IF NOT EXISTS and a TTL, renewed and released by the holder only (IF owner = ?).
 * A holder that dies frees its lease when the TTL runs out.
 */
@Injectable()
export class MaintenanceLeases {
  constructor(@Inject(CASSANDRA) private readonly db: Client) {}

  /** Takes the lease `name` for `ttlSeconds`; the current holder when someone else has it. */
  async acquire(name: string, owner: string, ttlSeconds: number): Promise<HeldLease | { heldBy: string; since: Date | null }> {
    const rs = await this.db.execute(
      'INSERT INTO maintenance_leases (name, owner, acquired_at) VALUES (?, ?, ?) IF NOT EXISTS USING TTL ?',
      [name, owner, new Date(), ttlSeconds],
      { isIdempotent: false, hints: ['text', 'text', 'timestamp', 'int'] },
    );
    const row = rs.first();
    if (row.get('[applied]') !== true) return { heldBy: String(row.get('owner') ?? ''), since: row.get('acquired_at') ?? null };
    return {
      name,
      owner,
      renew: async () => {
        const renewed = await this.db.execute(
          'UPDATE maintenance_leases USING TTL ? SET owner = ?, acquired_at = ? WHERE name = ? IF owner = ?',
          [ttlSeconds, owner, new Date(), name, owner],
          { isIdempotent: false, hints: ['int', 'text', 'timestamp', 'text', 'text'] },
        );
        return renewed.first().get('[applied]') === true;
      },
      release: async () => {
        await this.db.execute('DELETE FROM maintenance_leases WHERE name = ? IF owner = ?', [name, owner], { isIdempotent: false });
      },
    };
  }
}
