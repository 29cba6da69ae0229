import { sqlIdent, sqlString } from '../engine/duckdb.engine';
import type { LakeStorage } from '../storage/lake-storage';
import { duckdbType } from './actions';
import { decodePath } from './data-files';
import type { DeltaSnapshot } from './table-state';

/** A DuckDB table expression over a snapshot's files with its partition columns typed as the schema says. */
export async function scanSql(storage: LakeStorage, tablePath: string, snapshot: DeltaSnapshot): Promise<string> {
  const columns = snapshot.schema.map((c) => `CAST(NULL AS ${duckdbType(c.type)}) AS ${sqlIdent(c.name)}`);
  if (snapshot.files.length === 0) return `(SELECT ${columns.join(', ')} WHERE false)`;
  const paths = await Promise.all(snapshot.files.map((f) => storage.localPath(`${tablePath}/${decodePath(f.path)}`)));
  const select = snapshot.schema.map((c) => {
    if (!snapshot.partitionColumns.includes(c.name)) return sqlIdent(c.name);
    return `CAST(pv[${sqlString(c.name)}] AS ${duckdbType(c.type)}) AS ${sqlIdent(c.name)}`;
  });
  const values = snapshot.files
    .map(
      (f, i) =>
        `(${sqlString(paths[i])}, MAP {${snapshot.partitionColumns.map((p) => `${sqlString(p)}: ${f.partitionValues[p] == null ? 'NULL' : sqlString(f.partitionValues[p]!)}`).join(', ')}})`,
    )
    .join(', ');
  if (snapshot.partitionColumns.length === 0) {
    return `(SELECT ${select.join(', ')} FROM read_parquet([${paths.map(sqlString).join(', ')}], union_by_name = true))`;
  }
  return (
    `(SELECT ${select.join(', ')} FROM read_parquet([${paths.map(sqlString).join(', ')}], filename = 'pulse_file', union_by_name = true) d ` +
    `JOIN (SELECT * FROM (VALUES ${values}) v(pulse_file, pv)) m USING (pulse_file))`
  );
}
