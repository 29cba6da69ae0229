import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ErasedUserGuard } from './erased-user.guard';

/**
 * The recommender's side of erasure (docs/privacy.md): serving refuses users on the erasure list
 * (ErasedUserGuard on every RPC); the live state drops their actions (LiveActivityKafkaConsumer); training leaves
 * them out of its source (`recs train --exclude-erased`, train-exclusion.ts).
 */
@Module({ providers: [{ provide: APP_GUARD, useClass: ErasedUserGuard }] })
export class PrivacyModule {}
