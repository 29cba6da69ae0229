import { Module } from '@nestjs/common';
import { ActivityRepository } from './activity.cassandra.repository';
import { ActivityGrpcController } from './activity.grpc.controller';
import { ActivityKafkaConsumer } from './activity.kafka.consumer';
import { ActivityService } from './activity.service';

@Module({ controllers: [ActivityGrpcController], providers: [ActivityService, ActivityRepository, ActivityKafkaConsumer] })
export class ActivityModule {}
