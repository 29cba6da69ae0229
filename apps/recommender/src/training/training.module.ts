import { Module } from '@nestjs/common';
import { ServingModule } from '../serving/serving.module';
import { TrainingSchedule } from './training-schedule.service';

/** Scheduled training from the lake, beside serving (the promoted version reloads after a run promotes one). */
@Module({
  imports: [ServingModule],
  providers: [TrainingSchedule],
})
export class TrainingModule {}
