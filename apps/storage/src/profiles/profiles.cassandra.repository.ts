import { CASSANDRA } from '@pulse/platform';
import { Inject, Injectable } from '@nestjs/common';
import type { Client } from 'cassandra-driver';

export interface ProfileRow {
  userId: string;
  handle: string;
  displayName: string;
  bio: string;
  avatarMediaId: string;
  createdAt: Date;
  updatedAt: Date;
}

const COLUMNS = 'user_id, handle, display_name, bio, avatar_media_id, created_at, updated_at';

/**
 * profiles and profiles_by_handle. Handle ownership is decided by lightweight transactions
 * (LOCAL_SERIAL), so two users racing for one handle get exactly one winner.
 */
@Injectable()
export class ProfilesRepository {
  constructor(@Inject(CASSANDRA) private readonly db: Client) {}

  async get(userId: string): Promise<ProfileRow | undefined> {
    const rs = await this.db.execute(`SELECT ${COLUMNS} FROM profiles WHERE user_id = ?`, [userId], { isIdempotent: true });
    const row = rs.first();
    return row ? toProfile(row) : undefined;
  }

  async ownerOfHandle(handle: string): Promise<string | undefined> {
    const rs = await this.db.execute('SELECT user_id FROM profiles_by_handle WHERE handle = ?', [handle], { isIdempotent: true });
    return rs.first()?.get('user_id') ?? undefined;
  }

  /** Claims a handle for a user; true when the user holds it now (newly or already). */
  async claimHandle(handle: string, userId: string, at: Date): Promise<boolean> {
    const rs = await this.db.execute(
      'INSERT INTO profiles_by_handle (handle, user_id, claimed_at) VALUES (?, ?, ?) IF NOT EXISTS',
      [handle, userId, at],
      { isIdempotent: false },
    );
    const row = rs.first();
    return row.get('[applied]') === true || row.get('user_id') === userId;
  }

  /** Releases a handle only if this user still holds it. */
  async releaseHandle(handle: string, userId: string): Promise<void> {
    await this.db.execute('DELETE FROM profiles_by_handle WHERE handle = ? IF user_id = ?', [handle, userId], { isIdempotent: false });
  }

  /** Inserts a new profile; false when the user id exists already. */
  async insert(p: ProfileRow): Promise<boolean> {
    const rs = await this.db.execute(
      `INSERT INTO profiles (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS`,
      [p.userId, p.handle, p.displayName, p.bio, p.avatarMediaId, p.createdAt, p.updatedAt],
      { isIdempotent: false },
    );
    return rs.first().get('[applied]') === true;
  }

  /** Updates the given editable columns of an existing profile; false when it does not exist. */
  async update(userId: string, changes: Partial<Pick<ProfileRow, 'displayName' | 'bio' | 'avatarMediaId'>>, at: Date): Promise<boolean> {
    const columns: [string, unknown][] = [];
    if (changes.displayName !== undefined) columns.push(['display_name', changes.displayName]);
    if (changes.bio !== undefined) columns.push(['bio', changes.bio]);
    if (changes.avatarMediaId !== undefined) columns.push(['avatar_media_id', changes.avatarMediaId]);
    columns.push(['updated_at', at]);
    const rs = await this.db.execute(
      `UPDATE profiles SET ${columns.map(([c]) => `${c} = ?`).join(', ')} WHERE user_id = ? IF EXISTS`,
      [...columns.map(([, v]) => v), userId],
      { isIdempotent: false },
    );
    return rs.first().get('[applied]') === true;
  }

  /**
   * Writes a profile as the app database has it, moving its handle mapping along: the old handle is
   * released only if it still points to this user.
   */
  async upsertFromSource(p: ProfileRow): Promise<void> {
    const previous = await this.get(p.userId);
    await this.db.execute(
      `INSERT INTO profiles (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)`,
      [p.userId, p.handle, p.displayName, p.bio, p.avatarMediaId, p.createdAt, p.updatedAt],
      { isIdempotent: true },
    );
    await this.db.execute(
      'INSERT INTO profiles_by_handle (handle, user_id, claimed_at) VALUES (?, ?, ?)',
      [p.handle, p.userId, p.updatedAt],
      {
        isIdempotent: true,
      },
    );
    if (previous && previous.handle && previous.handle !== p.handle) await this.releaseHandle(previous.handle, p.userId);
  }

  async deleteFromSource(userId: string): Promise<void> {
    const previous = await this.get(userId);
    await this.db.execute('DELETE FROM profiles WHERE user_id = ?', [userId], { isIdempotent: true });
    if (previous?.handle) await this.releaseHandle(previous.handle, userId);
  }

  /** Moves a profile from one handle to another, only if it still has `from` (compare-and-set). */
  async swapHandle(userId: string, from: string, to: string, at: Date): Promise<boolean> {
    const rs = await this.db.execute(
      'UPDATE profiles SET handle = ?, updated_at = ? WHERE user_id = ? IF handle = ?',
      [to, at, userId, from],
      {
        isIdempotent: false,
      },
    );
    return rs.first().get('[applied]') === true;
  }
}

function toProfile(row: { get(name: string): any }): ProfileRow {
  return {
    userId: row.get('user_id'),
    handle: row.get('handle') ?? '',
    displayName: row.get('display_name') ?? '',
    bio: row.get('bio') ?? '',
    avatarMediaId: row.get('avatar_media_id') ?? '',
    createdAt: row.get('created_at'),
    updatedAt: row.get('updated_at'),
  };
}
