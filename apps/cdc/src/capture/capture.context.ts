import type { CdcConfig } from '../config/cdc.config';
import { ColumnFilter } from '../debezium/column-filter';
import { ChangeEventMapper } from '../debezium/change-event.mapper';
import { TypeRegistry } from '../debezium/pg-types';
import type { CdcCatalogRepository } from './cdc-catalog.pg.repository';

/**
 * What capture knows of the captured database, shared by the start, the snapshots and the stream (Debezium's
 * task context and schema): the database's name, its types, the event mapper and the table shapes last put
 * on the schema change topic. Loaded once, when the module starts.
 */
export class CaptureContext {
  /** Table shapes last put on the schema change topic, by `schema.table`. */
  readonly shapes = new Map<string, string>();

  private constructor(
    readonly database: string,
    readonly types: TypeRegistry,
    readonly mapper: ChangeEventMapper,
  ) {}

  static async load(config: CdcConfig, catalog: CdcCatalogRepository): Promise<CaptureContext> {
    const database = await catalog.databaseName();
    const types = new TypeRegistry();
    for (const type of await catalog.userTypes()) types.addUserType(type);
    const mapper = new ChangeEventMapper(
      {
        serverName: config.CDC_SERVER_NAME,
        database,
        tombstonesOnDelete: config.CDC_TOMBSTONES_ON_DELETE,
        transactionMetadata: config.CDC_PROVIDE_TRANSACTION_METADATA,
        columns: new ColumnFilter({ exclude: config.CDC_COLUMN_EXCLUDE_LIST, masks: config.CDC_COLUMN_MASK_WITH_CHARS }),
      },
      types,
    );
    return new CaptureContext(database, types, mapper);
  }

  /** Adds shapes now on the schema change topic (or saved with the slot), by `schema.table`. */
  addShapes(shapes: Record<string, string>): void {
    for (const [table, shape] of Object.entries(shapes)) this.shapes.set(table, shape);
  }
}
