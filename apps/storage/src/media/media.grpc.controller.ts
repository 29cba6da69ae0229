import { Controller, UseFilters } from '@nestjs/common';
import { GrpcMethod, GrpcStreamMethod } from '@nestjs/microservices';
import { status, type Metadata, type ServerReadableStream, type ServerWritableStream } from '@grpc/grpc-js';
import type { storageV1 } from '@pulse/contracts';
import { GrpcExceptionFilter, GrpcStatusError } from '@pulse/platform';
import { defer, ignoreElements, type Observable } from 'rxjs';
import { MediaLifecycleService } from './media-lifecycle.service';
import { pullMessages } from './media-streams';
import { MediaService } from './media.service';
import { checkMaxActions, checkMediaId, checkSweepPrefix } from './media.validation';

/** Media RPCs of pulse.storage.v1.StorageService. */
@Controller()
@UseFilters(GrpcExceptionFilter)
export class MediaGrpcController {
  constructor(
    private readonly media: MediaService,
    private readonly lifecycle: MediaLifecycleService,
  ) {}

  /**
   * Client streaming. Nest hands the messages over as an rx stream and holds back early ones until the
   * handler returns, so the handler subscribes at once and returns an Observable (a Promise would keep
   * every message buffered until the upload ends). The call itself is paused when the upload falls behind.
   */
  @GrpcStreamMethod('StorageService', 'PutMedia')
  putMedia(
    messages: Observable<storageV1.PutMediaRequest>,
    _metadata: Metadata,
    call: ServerReadableStream<storageV1.PutMediaRequest, storageV1.PutMediaResponse>,
  ): Observable<storageV1.PutMediaResponse> {
    const cancelled = new AbortController();
    const onCancel = () => cancelled.abort(new GrpcStatusError(status.CANCELLED, 'the client cancelled the upload'));
    call.once('cancelled', onCancel);
    const upload = pullMessages(messages, call, cancelled.signal);
    return defer(async () => {
      try {
        return { media: await this.media.put(upload) };
      } finally {
        call.off('cancelled', onCancel);
      }
    });
  }

  /** Server streaming: messages are written straight to the call with backpressure; the returned stream only signals the end. */
  @GrpcMethod('StorageService', 'GetMedia')
  getMedia(
    request: storageV1.GetMediaRequest,
    _metadata: Metadata,
    call: ServerWritableStream<storageV1.GetMediaRequest, storageV1.GetMediaResponse>,
  ): Observable<never> {
    return defer(() => this.media.download(request, call)).pipe(ignoreElements());
  }

  @GrpcMethod('StorageService', 'GetMediaInfo')
  async getMediaInfo(request: storageV1.GetMediaInfoRequest): Promise<storageV1.GetMediaInfoResponse> {
    return { media: await this.media.info(request.mediaId) };
  }

  @GrpcMethod('StorageService', 'DeleteMedia')
  async deleteMedia(request: storageV1.DeleteMediaRequest): Promise<storageV1.DeleteMediaResponse> {
    await this.media.delete(checkMediaId(request.mediaId));
    return {};
  }

  @GrpcMethod('StorageService', 'RunLifecycleSweep')
  runLifecycleSweep(request: storageV1.RunLifecycleSweepRequest): Promise<storageV1.RunLifecycleSweepResponse> {
    return this.lifecycle.sweep({
      dryRun: !!request.dryRun,
      prefix: checkSweepPrefix(request.prefix),
      maxActions: checkMaxActions(request.maxActions),
    });
  }
}
