import type { ServiceError } from '@grpc/grpc-js';
import type { storageV1 } from '@pulse/contracts';
import type { UnaryClient } from '@pulse/platform';
import { createHash, randomBytes } from 'node:crypto';
import { MediaRepository } from '../src/media/media.cassandra.repository';
import type { StorageTestApp } from './storage-test-app';

export const MiB = 1024 * 1024;
export const DAY_MS = 86_400_000;

export const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
export const content = (bytes: number) => randomBytes(bytes);

/** The error of a rejected call (fails the test if it resolved). */
export async function failure(promise: Promise<unknown>): Promise<ServiceError> {
  try {
    await promise;
  } catch (error) {
    return error as ServiceError;
  }
  throw new Error('expected the call to fail');
}

/** PutMedia as a client sends it: the metadata, then the content in `chunkBytes` messages. */
export function putMedia(
  client: UnaryClient,
  metadata: Partial<storageV1.MediaUploadMetadata>,
  bytes: Buffer,
  chunkBytes = 256 * 1024,
): Promise<storageV1.MediaInfo> {
  const messages: Partial<storageV1.PutMediaRequest>[] = [{ metadata: metadata as storageV1.MediaUploadMetadata }];
  for (let offset = 0; offset < bytes.length; offset += chunkBytes) messages.push({ chunk: bytes.subarray(offset, offset + chunkBytes) });
  return putMessages(client, messages).then((r) => {
    if (!r.media) throw new Error('PutMedia answered without media');
    return r.media;
  });
}

/** PutMedia with any sequence of messages, written with backpressure. */
export function putMessages(client: UnaryClient, messages: Partial<storageV1.PutMediaRequest>[]): Promise<storageV1.PutMediaResponse> {
  return new Promise((resolve, reject) => {
    const call = (client.raw as any).PutMedia(
      client.metadata(),
      { deadline: Date.now() + 30_000 },
      (error: ServiceError | null, response: storageV1.PutMediaResponse) => (error ? reject(error) : resolve(response)),
    );
    let i = 0;
    const pump = () => {
      while (i < messages.length) {
        if (!call.write(messages[i++])) return void call.once('drain', pump);
      }
      call.end();
    };
    pump();
  });
}

export interface Download {
  info: storageV1.MediaInfo;
  bytes: Buffer;
  chunks: number;
  largestChunk: number;
}

/** GetMedia: the info message, then the content concatenated. */
export function getMedia(client: UnaryClient, request: Partial<storageV1.GetMediaRequest>): Promise<Download> {
  return new Promise((resolve, reject) => {
    const call = (client.raw as any).GetMedia(request, client.metadata(), { deadline: Date.now() + 30_000 });
    let info: storageV1.MediaInfo | undefined;
    const parts: Buffer[] = [];
    let largestChunk = 0;
    call.on('data', (message: storageV1.GetMediaResponse) => {
      if (message.info) {
        if (info || parts.length) reject(new Error('info arrived twice or after content'));
        info = message.info;
      } else if (message.chunk) {
        if (!info) reject(new Error('content arrived before the info'));
        parts.push(Buffer.from(message.chunk));
        largestChunk = Math.max(largestChunk, message.chunk.length);
      }
    });
    call.on('error', reject);
    call.on('end', () =>
      info ? resolve({ info, bytes: Buffer.concat(parts), chunks: parts.length, largestChunk }) : reject(new Error('no info message')),
    );
  });
}

/** Pretends an object was created `days` ago: rewrites its row and sweep index entry through the repository. */
export async function backdate(storage: StorageTestApp, mediaId: string, days: number): Promise<void> {
  const repo = storage.running.app.get(MediaRepository);
  const row = await repo.get(mediaId);
  if (!row) throw new Error(`no media ${mediaId}`);
  await repo.removeFromDayIndex(row);
  const at = new Date(Date.now() - days * DAY_MS);
  await repo.insert({ ...row, createdAt: at, tierChangedAt: at });
}

export async function createOwner(storage: StorageTestApp, userId: string): Promise<void> {
  await storage.client.call('CreateProfile', { profile: { userId, handle: `h_${userId.replace(/-/g, '_')}`.slice(0, 30) } });
}
