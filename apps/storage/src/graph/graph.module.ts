import { Module } from '@nestjs/common';
import { MaintenanceLeases } from '../shared/maintenance-lease.cassandra.repository';
import { BlocksRepository } from './blocks.cassandra.repository';
import { GraphImportService } from './graph-import.service';
import { GraphRepository } from './graph.cassandra.repository';
import { GraphService } from './graph.service';

@Module({
  providers: [GraphService, GraphRepository, BlocksRepository, GraphImportService, MaintenanceLeases],
  exports: [GraphService, GraphRepository, BlocksRepository, GraphImportService, MaintenanceLeases],
})
export class GraphModule {}
