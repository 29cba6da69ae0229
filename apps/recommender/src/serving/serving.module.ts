import { Module } from '@nestjs/common';
import { Peers } from '../candidates/peers';
import { RecommendPipeline } from '../candidates/recommend-pipeline';
import { ScoringThreads } from '../candidates/scoring-threads';
import { TrendingSource } from '../candidates/trending.source';
import { PostCatalogRepository } from '../catalog/post-catalog.redis.repository';
import { PostsKafkaConsumer } from '../catalog/posts.kafka.consumer';
import { RunningExperiments } from '../experiments/running-experiments';
import { ServedPublisher } from '../feedback/served.kafka.publisher';
import { PeopleService } from '../people/people.service';
import { LiveActivityKafkaConsumer } from '../live/live-activity.kafka.consumer';
import { UserStateRepository } from '../live/user-state.redis.repository';
import { ModelPromotionsKafkaConsumer } from './model-promotions.kafka.consumer';
import { ModelPromotionsPublisher } from './model-promotions.kafka.publisher';
import { RecsGrpcController } from './recs.grpc.controller';
import { RecsService } from './recs.service';

/**
 * RecsService (and RecommendUsers' PeopleService) and what Recommend assembles lists from (the live state, the post catalogue, the peers, trending),
 * and the promotion events that keep every replica on the promoted version.
 */
@Module({
  controllers: [RecsGrpcController],
  providers: [
    RecsService,
    PeopleService,
    RecommendPipeline,
    ScoringThreads,
    UserStateRepository,
    LiveActivityKafkaConsumer,
    PostCatalogRepository,
    PostsKafkaConsumer,
    Peers,
    TrendingSource,
    ServedPublisher,
    RunningExperiments,
    ModelPromotionsPublisher,
    ModelPromotionsKafkaConsumer,
  ],
  exports: [RecsService],
})
export class ServingModule {}
