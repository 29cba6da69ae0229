import { Inject, Injectable } from '@nestjs/common';
import { CASSANDRA } from '@pulse/platform';
import type { Client } from 'cassandra-driver';

const OPTIONS = { prepare: true, isIdempotent: true } as const;

/** A user's blocks in both directions, each list up to its limit. */
export interface UserBlocks {
  blocking: { userId: string; at: Date | undefined }[];
  blockedBy: { userId: string; at: Date | undefined }[];
  truncated: boolean;
}

/**
 * Blocks as the app database has them (applied from its CDC topic): blocks_by_user and blocked_by_user, written and
 * deleted together in one logged batch so the two directions never disagree for long.
 */
@Injectable()
export class BlocksRepository {
  constructor(@Inject(CASSANDRA) private readonly db: Client) {}

  async block(blockerId: string, blockedId: string, at: Date): Promise<void> {
    await this.db.batch(
      [
        { query: 'INSERT INTO blocks_by_user (user_id, blocked_id, blocked_at) VALUES (?, ?, ?)', params: [blockerId, blockedId, at] },
        { query: 'INSERT INTO blocked_by_user (user_id, blocker_id, blocked_at) VALUES (?, ?, ?)', params: [blockedId, blockerId, at] },
      ],
      { ...OPTIONS, logged: true },
    );
  }

  async unblock(blockerId: string, blockedId: string): Promise<void> {
    await this.db.batch(
      [
        { query: 'DELETE FROM blocks_by_user WHERE user_id = ? AND blocked_id = ?', params: [blockerId, blockedId] },
        { query: 'DELETE FROM blocked_by_user WHERE user_id = ? AND blocker_id = ?', params: [blockedId, blockerId] },
      ],
      { ...OPTIONS, logged: true },
    );
  }

  /**
   * Both lists, newest first, each cut at `limit`. A partition is ordered by user id, so each list is read up to
   * `readAtMost` rows and ordered by time here: past that many blocks, the newest are looked for among those read.
   */
  async list(userId: string, limit: number, readAtMost: number): Promise<UserBlocks> {
    const read = async (query: string, column: string) => {
      const rs = await this.db.execute(query, [userId, readAtMost], { ...OPTIONS, fetchSize: Math.min(readAtMost, 5_000) });
      const rows: { userId: string; at: Date | undefined }[] = [];
      for await (const r of rs) rows.push({ userId: String(r.get(column)), at: (r.get('blocked_at') as Date | null) ?? undefined });
      return rows.sort((a, b) => (b.at?.getTime() ?? 0) - (a.at?.getTime() ?? 0));
    };
    const [blocking, blockedBy] = await Promise.all([
      read('SELECT blocked_id, blocked_at FROM blocks_by_user WHERE user_id = ? LIMIT ?', 'blocked_id'),
      read('SELECT blocker_id, blocked_at FROM blocked_by_user WHERE user_id = ? LIMIT ?', 'blocker_id'),
    ]);
    return {
      blocking: blocking.slice(0, limit),
      blockedBy: blockedBy.slice(0, limit),
      truncated: blocking.length > limit || blockedBy.length > limit,
    };
  }

  /**
   * Removes every block of the user in both directions (the erasure): the other users' rows first, then the user's
   * own partitions. Returns the blocks removed as (blocker, blocked) pairs.
   */
  async eraseUser(userId: string): Promise<[string, string][]> {
    const pairs: [string, string][] = [];
    for (const [own, column, other, otherColumn, blockerFirst] of [
      ['blocks_by_user', 'blocked_id', 'blocked_by_user', 'blocker_id', true],
      ['blocked_by_user', 'blocker_id', 'blocks_by_user', 'blocked_id', false],
    ] as const) {
      const rs = await this.db.execute(`SELECT ${column} FROM ${own} WHERE user_id = ?`, [userId], { ...OPTIONS, fetchSize: 10_000 });
      for await (const row of rs) {
        const otherId = String(row.get(column));
        await this.db.execute(`DELETE FROM ${other} WHERE user_id = ? AND ${otherColumn} = ?`, [otherId, userId], OPTIONS);
        pairs.push(blockerFirst ? [userId, otherId] : [otherId, userId]);
      }
      await this.db.execute(`DELETE FROM ${own} WHERE user_id = ?`, [userId], OPTIONS);
    }
    return pairs;
  }
}
