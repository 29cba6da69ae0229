import { Module } from '@nestjs/common';
import { ProfilesRepository } from './profiles.cassandra.repository';
import { ProfilesGrpcController } from './profiles.grpc.controller';
import { ProfilesService } from './profiles.service';

@Module({ controllers: [ProfilesGrpcController], providers: [ProfilesService, ProfilesRepository], exports: [ProfilesRepository] })
export class ProfilesModule {}
