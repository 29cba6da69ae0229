import { Controller, UseFilters } from '@nestjs/common';
import { status, type Metadata, type ServerReadableStream, type ServerWritableStream } from '@grpc/grpc-js';
import { storageV1 } from '@pulse/contracts';
import { GrpcExceptionFilter, GrpcStatusError, grpcErrors, RequiresScope } from '@pulse/platform';
import { defer, ignoreElements, type Observable } from 'rxjs';
import { ActivityService } from '../activity/activity.service';
import { UserDataEraserService } from '../erasure/user-data-eraser.service';
import { GraphImportService } from '../graph/graph-import.service';
import { GraphService } from '../graph/graph.service';
import { MediaAudit } from '../media/media-audit.service';
import { MediaLifecycleService } from '../media/media-lifecycle.service';
import { pullMessages } from '../media/media-streams';
import { MediaService } from '../media/media.service';
import { ProfilesService } from '../profiles/profiles.service';
import { GraphReconciler } from '../reconcile/graph-reconciler.service';

/** pulse.storage.v1.StorageService over gRPC; each RPC is answered by its slice's service (profiles, graph, activity, media). */
@Controller()
@UseFilters(GrpcExceptionFilter)
@storageV1.StorageServiceControllerMethods()
export class StorageGrpcController implements storageV1.StorageServiceController {
  constructor(
    private readonly profiles: ProfilesService,
    private readonly graph: GraphService,
    private readonly graphImport: GraphImportService,
    private readonly activity: ActivityService,
    private readonly media: MediaService,
    private readonly lifecycle: MediaLifecycleService,
    private readonly eraser: UserDataEraserService,
    private readonly reconciler: GraphReconciler,
    private readonly mediaAudit: MediaAudit,
  ) {}

  // Erasure

  @RequiresScope('privacy:erase')
  async eraseUserData(request: storageV1.EraseUserDataRequest): Promise<storageV1.EraseUserDataResponse> {
    return { erased: await this.eraser.erase(request.userId) };
  }

  // Profiles

  @RequiresScope('storage:write')
  async createProfile(request: storageV1.CreateProfileRequest): Promise<storageV1.CreateProfileResponse> {
    return { profile: await this.profiles.create(request.profile) };
  }

  @RequiresScope('storage:read')
  async getProfile(request: storageV1.GetProfileRequest): Promise<storageV1.GetProfileResponse> {
    return { profile: await this.profiles.get(request.userId) };
  }

  @RequiresScope('storage:read')
  async getProfileByHandle(request: storageV1.GetProfileByHandleRequest): Promise<storageV1.GetProfileByHandleResponse> {
    return { profile: await this.profiles.getByHandle(request.handle) };
  }

  @RequiresScope('storage:write')
  async updateProfile(request: storageV1.UpdateProfileRequest): Promise<storageV1.UpdateProfileResponse> {
    // proto-loader hands the mask over as { paths }, ts-proto types it as the path list.
    const mask = request.updateMask as unknown as string[] | { paths?: string[] } | undefined;
    return { profile: await this.profiles.update(request.profile, Array.isArray(mask) ? mask : mask?.paths) };
  }

  @RequiresScope('storage:write')
  changeHandle(request: storageV1.ChangeHandleRequest): Promise<storageV1.ChangeHandleResponse> {
    return this.profiles.changeHandle(request.userId, request.newHandle);
  }

  // Graph

  @RequiresScope('storage:write')
  follow(request: storageV1.FollowRequest): Promise<storageV1.FollowResponse> {
    return this.graph.follow(request.followerId, request.followeeId);
  }

  @RequiresScope('storage:write')
  async unfollow(request: storageV1.UnfollowRequest): Promise<storageV1.UnfollowResponse> {
    return { deleted: await this.graph.unfollow(request.followerId, request.followeeId) };
  }

  @RequiresScope('storage:read')
  async getRelationship(request: storageV1.GetRelationshipRequest): Promise<storageV1.GetRelationshipResponse> {
    return { relationship: await this.graph.relationship(request.userId, request.otherUserId) };
  }

  @RequiresScope('storage:read')
  listFollowers(request: storageV1.ListFollowersRequest): Promise<storageV1.ListFollowersResponse> {
    return this.graph.listFollowers(request.userId, request.pageSize, request.pageToken);
  }

  @RequiresScope('storage:read')
  listFollowing(request: storageV1.ListFollowingRequest): Promise<storageV1.ListFollowingResponse> {
    return this.graph.listFollowing(request.userId, request.pageSize, request.pageToken);
  }

  @RequiresScope('storage:read')
  listMutualFollows(request: storageV1.ListMutualFollowsRequest): Promise<storageV1.ListMutualFollowsResponse> {
    return this.graph.listMutual(request.userId, request.pageSize, request.pageToken);
  }

  @RequiresScope('storage:read')
  async getFollowCounts(request: storageV1.GetFollowCountsRequest): Promise<storageV1.GetFollowCountsResponse> {
    return { counts: await this.graph.counts(request.userId) };
  }

  @RequiresScope('storage:read')
  listBlocks(request: storageV1.ListBlocksRequest): Promise<storageV1.ListBlocksResponse> {
    return this.graph.listBlocks(request.userId, request.limit);
  }

  /** Client streaming, like putMedia: the messages are pulled with backpressure while earlier edges are written. */
  @RequiresScope('admin')
  bulkImportFollows(
    messages: Observable<storageV1.BulkImportFollowsRequest>,
    _metadata?: Metadata,
    call?: ServerReadableStream<storageV1.BulkImportFollowsRequest, storageV1.BulkImportFollowsResponse>,
  ): Observable<storageV1.BulkImportFollowsResponse> {
    return clientStream(messages, call, 'import', (edges) => this.graphImport.import(edges));
  }

  @RequiresScope('admin')
  async recountFollows(request: storageV1.RecountFollowsRequest): Promise<storageV1.RecountFollowsResponse> {
    if (request.allUsers) {
      if (request.userIds?.length) throw grpcErrors.invalidArgument('user_ids', 'must be empty with all_users');
      return this.graphImport.recountAll();
    }
    return this.graphImport.recount(this.graphImport.checkRecountRequest(request.userIds ?? []));
  }

  // Activity

  @RequiresScope('storage:read')
  listActivity(request: storageV1.ListActivityRequest): Promise<storageV1.ListActivityResponse> {
    return this.activity.list(request);
  }

  // Media

  /**
   * Client streaming. Nest hands the messages over as an rx stream and holds back early ones until the
   * handler returns, so the handler subscribes at once and returns an Observable (a Promise would keep
   * every message buffered until the upload ends). The call itself is paused when the upload falls behind.
   */
  @RequiresScope('storage:write')
  putMedia(
    messages: Observable<storageV1.PutMediaRequest>,
    _metadata?: Metadata,
    call?: ServerReadableStream<storageV1.PutMediaRequest, storageV1.PutMediaResponse>,
  ): Observable<storageV1.PutMediaResponse> {
    return clientStream(messages, call, 'upload', async (upload) => ({ media: await this.media.put(upload) }));
  }

  /** Server streaming: messages are written straight to the call with backpressure; the returned stream only signals the end. */
  @RequiresScope('storage:read')
  getMedia(
    request: storageV1.GetMediaRequest,
    _metadata?: Metadata,
    call?: ServerWritableStream<storageV1.GetMediaRequest, storageV1.GetMediaResponse>,
  ): Observable<never> {
    return defer(() => {
      if (!call) throw new Error('GetMedia is server streaming: the handler needs the call to write to');
      return this.media.download(request, call);
    }).pipe(ignoreElements());
  }

  @RequiresScope('storage:read')
  async getMediaInfo(request: storageV1.GetMediaInfoRequest): Promise<storageV1.GetMediaInfoResponse> {
    return { media: await this.media.info(request.mediaId) };
  }

  @RequiresScope('admin')
  async deleteMedia(request: storageV1.DeleteMediaRequest): Promise<storageV1.DeleteMediaResponse> {
    await this.media.delete(request.mediaId);
    return {};
  }

  @RequiresScope('admin')
  runLifecycleSweep(request: storageV1.RunLifecycleSweepRequest): Promise<storageV1.RunLifecycleSweepResponse> {
    return this.lifecycle.sweep({ dryRun: !!request.dryRun, prefix: request.prefix, maxActions: request.maxActions });
  }

  // Reconciliation

  @RequiresScope('admin')
  async reconcileGraph(request: storageV1.ReconcileGraphRequest): Promise<storageV1.ReconcileGraphResponse> {
    return { reconciliation: await this.reconciler.reconcile({ dryRun: !!request.dryRun }) };
  }

  @RequiresScope('admin')
  async auditMedia(request: storageV1.AuditMediaRequest): Promise<storageV1.AuditMediaResponse> {
    return { audit: await this.mediaAudit.audit({ dryRun: !!request.dryRun }) };
  }
}

/**
 * A client-streaming call's messages as an async iterable with backpressure (pullMessages), failing with CANCELLED
 * when the client cancels the `what`, handed to `handle`; the Observable Nest answers the call with.
 */
function clientStream<Req, Res>(
  messages: Observable<Req>,
  call: ServerReadableStream<Req, Res> | undefined,
  what: string,
  handle: (messages: AsyncIterable<Req>) => Promise<Res>,
): Observable<Res> {
  const cancelled = new AbortController();
  const onCancel = () => cancelled.abort(new GrpcStatusError(status.CANCELLED, `the client cancelled the ${what}`));
  call?.once('cancelled', onCancel);
  const pulled = pullMessages(messages, call, cancelled.signal);
  return defer(async () => {
    try {
      return await handle(pulled);
    } finally {
      call?.off('cancelled', onCancel);
    }
  });
}
