import { Controller, UseFilters } from '@nestjs/common';
import { GrpcMethod } from '@nestjs/microservices';
import type { storageV1 } from '@pulse/contracts';
import { GrpcExceptionFilter } from '@pulse/platform';
import { GraphService } from './graph.service';

/** Social graph RPCs of pulse.storage.v1.StorageService. */
@Controller()
@UseFilters(GrpcExceptionFilter)
export class GraphGrpcController {
  constructor(private readonly graph: GraphService) {}

  @GrpcMethod('StorageService', 'Follow')
  follow(request: storageV1.FollowRequest): Promise<storageV1.FollowResponse> {
    return this.graph.follow(request.followerId, request.followeeId);
  }

  @GrpcMethod('StorageService', 'Unfollow')
  async unfollow(request: storageV1.UnfollowRequest): Promise<storageV1.UnfollowResponse> {
    return { deleted: await this.graph.unfollow(request.followerId, request.followeeId) };
  }

  @GrpcMethod('StorageService', 'GetRelationship')
  async getRelationship(request: storageV1.GetRelationshipRequest): Promise<storageV1.GetRelationshipResponse> {
    return { relationship: await this.graph.relationship(request.userId, request.otherUserId) };
  }

  @GrpcMethod('StorageService', 'ListFollowers')
  listFollowers(request: storageV1.ListFollowersRequest): Promise<storageV1.ListFollowersResponse> {
    return this.graph.listFollowers(request.userId, request.pageSize, request.pageToken);
  }

  @GrpcMethod('StorageService', 'ListFollowing')
  listFollowing(request: storageV1.ListFollowingRequest): Promise<storageV1.ListFollowingResponse> {
    return this.graph.listFollowing(request.userId, request.pageSize, request.pageToken);
  }

  @GrpcMethod('StorageService', 'ListMutualFollows')
  listMutualFollows(request: storageV1.ListMutualFollowsRequest): Promise<storageV1.ListMutualFollowsResponse> {
    return this.graph.listMutual(request.userId, request.pageSize, request.pageToken);
  }

  @GrpcMethod('StorageService', 'GetFollowCounts')
  async getFollowCounts(request: storageV1.GetFollowCountsRequest): Promise<storageV1.GetFollowCountsResponse> {
    return { counts: await this.graph.counts(request.userId) };
  }
}
