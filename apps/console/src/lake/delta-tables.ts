import type { etlV1 } from '@pulse/contracts';
import { bytes, num, when } from '../web/format';
import { type Html, markup } from '../web/html';
import { table } from '../web/layout';

/** etl's tables, each linked to its page: version, files, size and last commit (and, in `detail`, partitions and location). */
export function deltaTables(tables: readonly etlV1.DeltaTable[], detail: boolean): Html {
  const headers = [
    'table',
    'version',
    'files',
    'size',
    ...(detail ? ['partitioned by'] : []),
    'last commit',
    ...(detail ? ['location'] : []),
  ];
  const rows = tables.map(
    (t) => markup`<tr data-table="${t.name}">
      <td><a href="/lake/${encodeURIComponent(t.name)}">${t.name}</a></td>
      <td class="num">${t.version}</td>
      <td class="num">${num(Number(t.fileCount))}</td>
      <td class="num">${bytes(Number(t.sizeBytes))}</td>
      ${detail ? markup`<td>${t.partitionColumns.join(', ') || '—'}</td>` : ''}
      <td>${when(t.lastCommitAt)} <span class="muted">${t.lastOperation}</span></td>
      ${detail ? markup`<td><code>${t.location}</code></td>` : ''}
    </tr>`,
  );
  return table(headers, rows, 'etl manages no table yet');
}
