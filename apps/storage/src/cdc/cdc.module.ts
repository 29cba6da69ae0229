import { Module } from '@nestjs/common';
import { GraphModule } from '../graph/graph.module';
import { ProfilesModule } from '../profiles/profiles.module';
import { AppDbKafkaConsumer } from './app-db.kafka.consumer';
import { CdcRowVersionsRepository } from './cdc-row-versions.cassandra.repository';

@Module({
  imports: [ProfilesModule, GraphModule],
  providers: [AppDbKafkaConsumer, CdcRowVersionsRepository],
  exports: [CdcRowVersionsRepository],
})
export class CdcModule {}
