import { Injectable } from '@nestjs/common';
import type { storageV1 } from '@pulse/contracts';
import { grpcErrors } from '@pulse/platform';
import { randomUUID } from 'node:crypto';
import { toTimestamp } from '../shared/page-token';
import { checkText, checkUserId, normalizeHandle } from './profile.validation';
import { type ProfileRow, ProfilesRepository } from './profiles.cassandra.repository';

const EDITABLE: Record<string, 'displayName' | 'bio' | 'avatarMediaId'> = {
  display_name: 'displayName',
  displayName: 'displayName',
  bio: 'bio',
  avatar_media_id: 'avatarMediaId',
  avatarMediaId: 'avatarMediaId',
};

@Injectable()
export class ProfilesService {
  constructor(private readonly profiles: ProfilesRepository) {}

  async create(input: Partial<storageV1.Profile> | undefined): Promise<storageV1.Profile> {
    if (!input) throw grpcErrors.invalidArgument('profile', 'is required');
    const userId = input.userId ? checkUserId(input.userId, 'profile.user_id') : randomUUID();
    const handle = normalizeHandle(input.handle ?? '', 'profile.handle');
    const now = new Date();
    const row: ProfileRow = {
      userId,
      handle,
      displayName: checkText(input.displayName ?? '', 64, 'profile.display_name'),
      bio: checkText(input.bio ?? '', 280, 'profile.bio'),
      avatarMediaId: input.avatarMediaId ?? '',
      createdAt: now,
      updatedAt: now,
    };
    if (!(await this.profiles.claimHandle(handle, userId, now))) throw grpcErrors.alreadyExists(`handle "${handle}"`);
    if (!(await this.profiles.insert(row))) {
      await this.profiles.releaseHandle(handle, userId);
      throw grpcErrors.alreadyExists(`profile "${userId}"`);
    }
    return toMessage(row);
  }

  async get(userId: string): Promise<storageV1.Profile> {
    const row = await this.profiles.get(checkUserId(userId));
    if (!row) throw grpcErrors.notFound(`profile "${userId}"`);
    return toMessage(row);
  }

  async getByHandle(handle: string): Promise<storageV1.Profile> {
    const normalized = normalizeHandle(handle);
    const owner = await this.profiles.ownerOfHandle(normalized);
    const row = owner ? await this.profiles.get(owner) : undefined;
    if (!row || row.handle !== normalized) throw grpcErrors.notFound(`handle "${normalized}"`);
    return toMessage(row);
  }

  async update(input: Partial<storageV1.Profile> | undefined, maskPaths: string[] | undefined): Promise<storageV1.Profile> {
    if (!input) throw grpcErrors.invalidArgument('profile', 'is required');
    const userId = checkUserId(input.userId ?? '', 'profile.user_id');
    const paths = maskPaths?.length ? maskPaths : ['display_name', 'bio', 'avatar_media_id'];
    const changes: Partial<Record<'displayName' | 'bio' | 'avatarMediaId', string>> = {};
    for (const path of paths) {
      if (path === 'handle') throw grpcErrors.invalidArgument('update_mask', 'handle changes go through ChangeHandle');
      const key = EDITABLE[path];
      if (!key) throw grpcErrors.invalidArgument('update_mask', `"${path}" is not an editable field`);
      changes[key] = input[key] ?? '';
    }
    if (changes.displayName !== undefined) checkText(changes.displayName, 64, 'profile.display_name');
    if (changes.bio !== undefined) checkText(changes.bio, 280, 'profile.bio');
    if (!(await this.profiles.update(userId, changes, new Date()))) throw grpcErrors.notFound(`profile "${userId}"`);
    return this.get(userId);
  }

  /** Claims the new handle, moves the profile to it, then releases the old one. */
  async changeHandle(userId: string, newHandle: string): Promise<{ profile: storageV1.Profile; previousHandle: string }> {
    checkUserId(userId);
    const handle = normalizeHandle(newHandle, 'new_handle');
    const current = await this.profiles.get(userId);
    if (!current) throw grpcErrors.notFound(`profile "${userId}"`);
    if (current.handle === handle) return { profile: toMessage(current), previousHandle: handle };
    const now = new Date();
    if (!(await this.profiles.claimHandle(handle, userId, now))) throw grpcErrors.alreadyExists(`handle "${handle}"`);
    if (!(await this.profiles.swapHandle(userId, current.handle, handle, now))) {
      // The profile changed handle concurrently: give the claim back and let the caller retry.
      await this.profiles.releaseHandle(handle, userId);
      throw grpcErrors.aborted(`profile "${userId}" changed concurrently; retry`);
    }
    await this.profiles.releaseHandle(current.handle, userId);
    return { profile: toMessage({ ...current, handle, updatedAt: now }), previousHandle: current.handle };
  }
}

function toMessage(row: ProfileRow): storageV1.Profile {
  return {
    userId: row.userId,
    handle: row.handle,
    displayName: row.displayName,
    bio: row.bio,
    avatarMediaId: row.avatarMediaId,
    createdAt: toTimestamp(row.createdAt),
    updatedAt: toTimestamp(row.updatedAt),
  };
}
