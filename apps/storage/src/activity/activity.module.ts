import { Module } from '@nestjs/common';
import { ActivityRepository } from './activity.cassandra.repository';
import { ActivityKafkaConsumer } from './activity.kafka.consumer';
import { ActivityService } from './activity.service';

@Module({ providers: [ActivityService, ActivityRepository, ActivityKafkaConsumer], exports: [ActivityService] })
export class ActivityModule {}
