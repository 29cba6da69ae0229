export * from './delta/actions';
export * from './delta/errors';
export * from './delta/table-state';
export * from './delta/delta-table';
export * from './engine/duckdb.engine';
export * from './storage/lake-storage';
export * from './storage/local.lake-storage';
export * from './storage/s3.lake-storage';
