import type { storageV1 } from '@pulse/contracts';
import type { UnaryClient } from '@pulse/platform';
import { createHash } from 'node:crypto';
import type { MediaAttachment } from '../app-database/app-database.pg.repository';
import type { SimulatorMetrics } from '../simulator/simulator.metrics';
import { callWithRetry } from './peer-call';

export interface MediaUpload {
  ownerId: string;
  contentType: string;
  filename: string;
  tags: string[];
  bytes: Buffer;
}

/** Uploads media objects through storage's client-streaming `PutMedia` (metadata first, then the content). */
export class StorageMediaClient {
  constructor(
    private readonly client: UnaryClient,
    private readonly deadlineMs: number,
    private readonly metrics: SimulatorMetrics,
  ) {}

  /** The stored object as a post attachment; undefined when storage refused or is down (counted). */
  async put(upload: MediaUpload): Promise<MediaAttachment | undefined> {
    try {
      const response = await callWithRetry(
        'storage',
        () => this.stream(upload),
        { attempts: 2, baseDelayMs: 200, maxDelayMs: 200 },
        this.metrics,
      );
      const media = response.media;
      if (!media) return undefined;
      this.metrics.mediaUploaded();
      return { media_id: media.mediaId, content_type: media.contentType, size_bytes: Number(media.sizeBytes) };
    } catch {
      return undefined;
    }
  }

  private stream(upload: MediaUpload): Promise<storageV1.PutMediaResponse> {
    return new Promise((resolve, reject) => {
      // The client's metadata carries the simulator's credentials (a streaming call is made on the raw client).
      const call = (this.client.raw as any).PutMedia(
        this.client.metadata(),
        { deadline: Date.now() + this.deadlineMs },
        (error: Error | null, response: storageV1.PutMediaResponse) => (error ? reject(error) : resolve(response)),
      );
      call.write({
        metadata: {
          contentType: upload.contentType,
          filename: upload.filename,
          ownerId: upload.ownerId,
          tags: upload.tags,
          prefix: 'posts/',
          sizeBytes: upload.bytes.length,
          sha256: createHash('sha256').update(upload.bytes).digest('hex'),
        },
      });
      call.write({ chunk: upload.bytes });
      call.end();
    });
  }
}
