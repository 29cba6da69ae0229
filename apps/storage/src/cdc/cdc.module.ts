import { Module } from '@nestjs/common';
import { GraphModule } from '../graph/graph.module';
import { ProfilesModule } from '../profiles/profiles.module';
import { AppDbCdcConsumer } from './app-db.cdc.consumer';
import { CdcRowVersionsRepository } from './cdc-row-versions.cassandra.repository';

@Module({ imports: [ProfilesModule, GraphModule], providers: [AppDbCdcConsumer, CdcRowVersionsRepository] })
export class CdcModule {}
