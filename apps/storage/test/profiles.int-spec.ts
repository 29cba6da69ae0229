import { status } from '@grpc/grpc-js';
import type { storageV1 } from '@pulse/contracts';
import { decodeFieldViolations } from '@pulse/platform';
import { dropKeyspace, startStorage, type StorageTestApp } from './storage-test-app';

let storage: StorageTestApp;

beforeAll(async () => {
  storage = await startStorage();
});

afterAll(async () => {
  await storage?.close();
  if (storage) await dropKeyspace(storage.keyspace);
});

const create = (profile: Partial<storageV1.Profile>) => storage.client.call<storageV1.CreateProfileResponse>('CreateProfile', { profile });

describe('profiles', () => {
  it('creates a profile, stores the handle lowercase and reads it back by id and by handle', async () => {
    const { profile } = await create({ userId: 'ada', handle: 'Ada_L', displayName: 'Ada Lovelace', bio: 'analyst' });
    expect(profile).toMatchObject({ userId: 'ada', handle: 'ada_l', displayName: 'Ada Lovelace' });
    expect(profile!.createdAt).toBeDefined();
    const byId = await storage.client.call<storageV1.GetProfileResponse>('GetProfile', { userId: 'ada' });
    expect(byId.profile).toEqual(profile);
    const byHandle = await storage.client.call<storageV1.GetProfileByHandleResponse>('GetProfileByHandle', { handle: 'ADA_L' });
    expect(byHandle.profile!.userId).toBe('ada');
  });

  it('gives a contested handle to exactly one of many racing users; the others get ALREADY_EXISTS', async () => {
    const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => create({ userId: `racer-${i}`, handle: 'popular_name' })));
    const winners = results.filter((r) => r.status === 'fulfilled');
    const losers = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(winners).toHaveLength(1);
    expect(losers.map((l) => l.reason.code)).toEqual(Array(7).fill(status.ALREADY_EXISTS));
    expect(losers[0].reason.details).toMatch(/handle "popular_name" already exists/);
    const owner = await storage.client.call<storageV1.GetProfileByHandleResponse>('GetProfileByHandle', { handle: 'popular_name' });
    expect(owner.profile!.userId).toBe((winners[0] as PromiseFulfilledResult<storageV1.CreateProfileResponse>).value.profile!.userId);
  });

  it('refuses a second profile with the same user id and keeps the new handle free', async () => {
    await create({ userId: 'dup', handle: 'dup_one' });
    const error = await create({ userId: 'dup', handle: 'dup_two' }).catch((e: any) => e);
    expect(error.code).toBe(status.ALREADY_EXISTS);
    await create({ userId: 'other', handle: 'dup_two' });
  });

  it('renames: the new handle points to the user and the old one is released for others', async () => {
    await create({ userId: 'grace', handle: 'grace_h' });
    const renamed = await storage.client.call<storageV1.ChangeHandleResponse>('ChangeHandle', { userId: 'grace', newHandle: 'admiral' });
    expect(renamed).toMatchObject({ previousHandle: 'grace_h', profile: { handle: 'admiral' } });
    const old = await storage.client.call('GetProfileByHandle', { handle: 'grace_h' }).catch((e: any) => e);
    expect(old.code).toBe(status.NOT_FOUND);
    const taker = await create({ userId: 'newcomer', handle: 'grace_h' });
    expect(taker.profile!.handle).toBe('grace_h');
    const taken = await storage.client.call('ChangeHandle', { userId: 'newcomer', newHandle: 'admiral' }).catch((e: any) => e);
    expect(taken.code).toBe(status.ALREADY_EXISTS);
  });

  it('updates only the fields of the mask', async () => {
    await create({ userId: 'linus', handle: 'linus_t', displayName: 'Linus', bio: 'kernel' });
    const { profile } = await storage.client.call<storageV1.UpdateProfileResponse>('UpdateProfile', {
      profile: { userId: 'linus', displayName: 'Linus T.', bio: 'ignored' },
      updateMask: { paths: ['display_name'] },
    });
    expect(profile).toMatchObject({ displayName: 'Linus T.', bio: 'kernel' });
  });

  it('names the field of a bad argument and answers NOT_FOUND for an unknown user', async () => {
    const bad = await create({ userId: 'x1', handle: 'no spaces allowed' }).catch((e: any) => e);
    expect(bad.code).toBe(status.INVALID_ARGUMENT);
    expect(decodeFieldViolations(bad.metadata)[0].field).toBe('profile.handle');
    const missing = await storage.client.call('GetProfile', { userId: 'nobody' }).catch((e: any) => e);
    expect(missing.code).toBe(status.NOT_FOUND);
    expect(missing.details).toMatch(/profile "nobody" not found/);
    const mask = await storage.client
      .call('UpdateProfile', { profile: { userId: 'ada' }, updateMask: { paths: ['handle'] } })
      .catch((e: any) => e);
    expect(mask.code).toBe(status.INVALID_ARGUMENT);
  });
});
