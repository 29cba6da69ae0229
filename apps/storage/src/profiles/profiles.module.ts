import { Module } from '@nestjs/common';
import { ProfilesRepository } from './profiles.cassandra.repository';
import { ProfilesService } from './profiles.service';

@Module({ providers: [ProfilesService, ProfilesRepository], exports: [ProfilesService, ProfilesRepository] })
export class ProfilesModule {}
