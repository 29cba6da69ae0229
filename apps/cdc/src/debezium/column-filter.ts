/**
 * Which columns of the captured rows leave the database, with Debezium's semantics: `column.exclude.list`
 * (regular expressions matched against the whole `schema.table.column`; matching columns are left out of
 * `before` and `after` and of the table's schema change events) and `column.mask.with.<length>.chars`
 * (matching columns' non-null values are replaced by that many `*`). Key columns are never excluded or
 * masked: the record key is the primary key.
 */

export interface ColumnMask {
  length: number;
  pattern: RegExp;
}

export interface ColumnFilterSettings {
  exclude: readonly RegExp[];
  masks: readonly ColumnMask[];
}

/** What happens to one column of a table. */
export type ColumnAction = { kind: 'keep' } | { kind: 'exclude' } | { kind: 'mask'; value: string };

const KEEP: ColumnAction = { kind: 'keep' };

export class ColumnFilter {
  private readonly byTable = new Map<string, ColumnAction[]>();

  constructor(private readonly settings: ColumnFilterSettings) {}

  /** A filter that keeps every column. */
  static none(): ColumnFilter {
    return new ColumnFilter({ exclude: [], masks: [] });
  }

  get isEmpty(): boolean {
    return this.settings.exclude.length === 0 && this.settings.masks.length === 0;
  }

  /** The action per column, in column order (cached per table shape). */
  actions(schema: string, table: string, columns: readonly string[], keyColumns: readonly string[]): readonly ColumnAction[] {
    const cacheKey = `${schema}\u0000${table}\u0000${columns.join('\u0000')}\u0000${keyColumns.join('\u0000')}`;
    let actions = this.byTable.get(cacheKey);
    if (!actions) {
      actions = columns.map((column) => this.action(`${schema}.${table}.${column}`, keyColumns.includes(column)));
      this.byTable.set(cacheKey, actions);
    }
    return actions;
  }

  private action(qualified: string, isKey: boolean): ColumnAction {
    if (isKey) return KEEP;
    if (this.settings.exclude.some((p) => p.test(qualified))) return { kind: 'exclude' };
    const mask = this.settings.masks.find((m) => m.pattern.test(qualified));
    return mask ? { kind: 'mask', value: '*'.repeat(mask.length) } : KEEP;
  }
}

/** A Debezium regular expression matched against the whole identifier, as Debezium anchors them. */
function anchored(expression: string): RegExp {
  return new RegExp(`^(?:${expression})$`, 'i');
}

/** `column.exclude.list`: comma-separated regular expressions of `schema.table.column`. */
export function parseExcludeList(text: string): RegExp[] {
  return splitList(text).map(anchored);
}

/**
 * Masks as `<length>:<regex>[,<length>:<regex>...]`: the environment form of Debezium's
 * `column.mask.with.<length>.chars=<regex>,...` (one property per length there).
 */
export function parseMaskList(text: string): ColumnMask[] {
  return splitList(text).map((entry) => {
    const match = entry.match(/^(\d+):(.+)$/);
    if (!match) throw new Error(`"${entry}" is not <length>:<regex>`);
    const length = Number(match[1]);
    if (length < 1 || length > 255) throw new Error(`mask length ${length} is outside 1..255`);
    return { length, pattern: anchored(match[2]) };
  });
}

/** Splits on commas outside `{...}` (a regex quantifier such as `{1,3}` keeps its comma). */
function splitList(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of text) {
    if (ch === '{') depth++;
    if (ch === '}') depth = Math.max(0, depth - 1);
    if (ch === ',' && depth === 0) {
      out.push(current);
      current = '';
    } else current += ch;
  }
  out.push(current);
  return out.map((s) => s.trim()).filter(Boolean);
}
