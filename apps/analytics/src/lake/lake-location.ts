import { resolve } from 'node:path';

/**
 * Where the lake is for Spark: LAKE_ROOT as a URI (a directory made absolute as `file:/...`, a URI kept), and
 * each table's location under it. Spark on another machine must see the same URI (shared storage or S3).
 */
export class LakeLocation {
  readonly root: string;

  constructor(lakeRoot: string) {
    const trimmed = lakeRoot.replace(/\/+$/, '');
    this.root = /^[a-z][a-z0-9+.-]*:/i.test(trimmed) ? trimmed : `file:${resolve(trimmed)}`;
  }

  /** The URI of a table, from its path under the root (`bronze/activity`). */
  table(path: string): string {
    return `${this.root}/${path.replace(/^\/+/, '')}`;
  }

  /** A table as a Spark SQL table expression, `delta.\`uri\``, at a version when given. */
  deltaSql(path: string, version?: number): string {
    const ident = `delta.\`${this.table(path).replace(/`/g, '``')}\``;
    return version === undefined ? ident : `${ident} VERSION AS OF ${version}`;
  }
}
