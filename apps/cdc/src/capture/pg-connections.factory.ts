import { Inject, Injectable } from '@nestjs/common';
import { CDC_CONFIG, type CdcConfig } from '../config/cdc.config';
import { ReplicationConnection } from '../replication/replication.pg.connection';
import { ChunkReader } from '../snapshot/incremental-snapshot.pg.reader';
import { InitialSnapshotReader } from '../snapshot/initial-snapshot.pg.reader';

/**
 * The service's PostgreSQL connections besides the catalog pool, each opened for one purpose: a walsender
 * connection per slot creation or replication session, a reader per initial snapshot, the incremental
 * snapshots' chunk reader.
 */
@Injectable()
export class PgConnectionFactory {
  constructor(@Inject(CDC_CONFIG) private readonly config: CdcConfig) {}

  replication(): ReplicationConnection {
    return new ReplicationConnection(this.config.PG_URL, `${this.config.SERVICE_NAME}-${this.config.CDC_SLOT}`);
  }

  initialSnapshotReader(): InitialSnapshotReader {
    return new InitialSnapshotReader(this.config.PG_URL, `${this.config.SERVICE_NAME}-snapshot`);
  }

  chunkReader(): ChunkReader {
    return new ChunkReader(this.config.PG_URL, `${this.config.SERVICE_NAME}-incremental-snapshot`);
  }
}
