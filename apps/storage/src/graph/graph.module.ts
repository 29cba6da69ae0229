import { Module } from '@nestjs/common';
import { GraphRepository } from './graph.cassandra.repository';
import { GraphService } from './graph.service';

@Module({ providers: [GraphService, GraphRepository], exports: [GraphService, GraphRepository] })
export class GraphModule {}
