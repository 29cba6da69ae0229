import { Module } from '@nestjs/common';
import { GraphRepository } from './graph.cassandra.repository';
import { GraphGrpcController } from './graph.grpc.controller';
import { GraphService } from './graph.service';

@Module({ controllers: [GraphGrpcController], providers: [GraphService, GraphRepository], exports: [GraphService] })
export class GraphModule {}
