export * from './codecs';
export * from './topic-definition';
export * from './topics';
export * from './proto-path';
export * from './timestamps';
export * from './personal-data';

/** Generated contract types, one namespace per proto package (pulse.<domain>.v1). */
export * as ingestV1 from './gen/pulse/ingest/v1';
export * as cdcV1 from './gen/pulse/cdc/v1';
export * as etlV1 from './gen/pulse/etl/v1';
export * as storageV1 from './gen/pulse/storage/v1';
export * as featuresV1 from './gen/pulse/features/v1';
export * as recsV1 from './gen/pulse/recs/v1';
export * as simulatorV1 from './gen/pulse/simulator/v1';
export * as privacyV1 from './gen/pulse/privacy/v1';
export * as experimentsV1 from './gen/pulse/experiments/v1';
export * as logsV1 from './gen/pulse/logs/v1';
export * as analyticsV1 from './gen/pulse/analytics/v1';
export * as healthV1 from './gen/grpc/health/v1';
