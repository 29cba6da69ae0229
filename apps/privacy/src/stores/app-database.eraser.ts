import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { qualifiedName } from '@pulse/platform';
import { Pool } from 'pg';
import { PRIVACY_CONFIG, type PrivacyConfig } from '../config/privacy.config';
import type { EraseOutcome, StoreEraser, Subject } from '../erasure/erasure.model';

/**
 * Deletes the user's row of the app database's `users` table, in one transaction with a count of what goes with it
 * (posts, comments and follows cascade, as the schema says). cdc captures the delete and every cascaded one and
 * writes tombstones for their keys, so the compacted CDC topics drop the rows and every consumer applies the
 * delete. Ids of users.id are integers: any other id has no row here.
 */
@Injectable()
export class AppDatabaseEraser implements StoreEraser, OnApplicationShutdown {
  readonly store = 'app_database' as const;
  private readonly pool: Pool;

  constructor(@Inject(PRIVACY_CONFIG) private readonly config: PrivacyConfig) {
    this.pool = new Pool({
      connectionString: config.PRIVACY_APP_PG_URL || config.PG_URL,
      max: 2,
      application_name: `${config.SERVICE_NAME}-app-db`,
    });
  }

  async onApplicationShutdown() {
    await this.pool.end().catch(() => undefined);
  }

  async erase(subject: Subject): Promise<EraseOutcome> {
    if (!/^\d{1,18}$/.test(subject.userId)) return { counts: {} };
    const table = (name: string) => qualifiedName(this.config.PRIVACY_APP_SCHEMA, name);
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<{ posts: string; comments: string; follows: string }>(
        `SELECT (SELECT count(*) FROM ${table('posts')} WHERE author_id = $1) AS posts,
                (SELECT count(*) FROM ${table('comments')} WHERE author_id = $1) AS comments,
                (SELECT count(*) FROM ${table('follows')} WHERE follower_id = $1 OR followee_id = $1) AS follows`,
        [subject.userId],
      );
      const deleted = await client.query(`DELETE FROM ${table('users')} WHERE id = $1`, [subject.userId]);
      await client.query('COMMIT');
      const users = deleted.rowCount ?? 0;
      if (users === 0) return { counts: { users: 0 } };
      return { counts: { users, posts: Number(rows[0].posts), comments: Number(rows[0].comments), follows: Number(rows[0].follows) } };
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }
}
