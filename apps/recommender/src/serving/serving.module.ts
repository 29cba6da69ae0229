import { Module } from '@nestjs/common';
import { RecsGrpcController } from './recs.grpc.controller';
import { RecsService } from './recs.service';

@Module({
  controllers: [RecsGrpcController],
  providers: [RecsService],
})
export class ServingModule {}
