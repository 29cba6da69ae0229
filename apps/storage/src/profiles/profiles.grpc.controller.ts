import { Controller, UseFilters } from '@nestjs/common';
import { GrpcMethod } from '@nestjs/microservices';
import type { storageV1 } from '@pulse/contracts';
import { GrpcExceptionFilter } from '@pulse/platform';
import { ProfilesService } from './profiles.service';

/** Profile RPCs of pulse.storage.v1.StorageService. */
@Controller()
@UseFilters(GrpcExceptionFilter)
export class ProfilesGrpcController {
  constructor(private readonly profiles: ProfilesService) {}

  @GrpcMethod('StorageService', 'CreateProfile')
  async createProfile(request: storageV1.CreateProfileRequest): Promise<storageV1.CreateProfileResponse> {
    return { profile: await this.profiles.create(request.profile) };
  }

  @GrpcMethod('StorageService', 'GetProfile')
  async getProfile(request: storageV1.GetProfileRequest): Promise<storageV1.GetProfileResponse> {
    return { profile: await this.profiles.get(request.userId) };
  }

  @GrpcMethod('StorageService', 'GetProfileByHandle')
  async getProfileByHandle(request: storageV1.GetProfileByHandleRequest): Promise<storageV1.GetProfileByHandleResponse> {
    return { profile: await this.profiles.getByHandle(request.handle) };
  }

  @GrpcMethod('StorageService', 'UpdateProfile')
  async updateProfile(request: storageV1.UpdateProfileRequest): Promise<storageV1.UpdateProfileResponse> {
    // proto-loader hands the mask over as { paths }, ts-proto types it as the path list.
    const mask = request.updateMask as unknown as string[] | { paths?: string[] } | undefined;
    return { profile: await this.profiles.update(request.profile, Array.isArray(mask) ? mask : mask?.paths) };
  }

  @GrpcMethod('StorageService', 'ChangeHandle')
  changeHandle(request: storageV1.ChangeHandleRequest): Promise<storageV1.ChangeHandleResponse> {
    return this.profiles.changeHandle(request.userId, request.newHandle);
  }
}
