// Test helpers of @pulse/platform, kept out of the production barrel (as @nestjs/testing is apart from
// @nestjs/core): `import { eventually, readTopicUntil, startService } from '@pulse/platform/testing'`.
export * from './read-topic';
export * from './built-service';
export * from './test-api-key';
export * from './auth-matrix';
export * from './jwt-issuer';
export * from './rejection';
export * from './redis-keys';
export * from './stack-cassandra';
export * from './fuzz';
