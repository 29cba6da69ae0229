/** OIDs of PostgreSQL's built-in types (src/include/catalog/pg_type.dat); fixed across versions. */
export const PgType = {
  bool: 16,
  bytea: 17,
  char: 18,
  name: 19,
  int8: 20,
  int2: 21,
  int4: 23,
  text: 25,
  oid: 26,
  json: 114,
  xml: 142,
  float4: 700,
  float8: 701,
  money: 790,
  bpchar: 1042,
  varchar: 1043,
  date: 1082,
  time: 1083,
  timestamp: 1114,
  timestamptz: 1184,
  interval: 1186,
  timetz: 1266,
  bit: 1560,
  varbit: 1562,
  numeric: 1700,
  uuid: 2950,
  jsonb: 3802,
} as const;

/** Built-in array types → their element type. */
const BUILTIN_ARRAYS: Record<number, number> = {
  1000: PgType.bool,
  1001: PgType.bytea,
  1002: PgType.char,
  1003: PgType.name,
  1005: PgType.int2,
  1007: PgType.int4,
  1009: PgType.text,
  1014: PgType.bpchar,
  1015: PgType.varchar,
  1016: PgType.int8,
  1021: PgType.float4,
  1022: PgType.float8,
  1028: PgType.oid,
  1115: PgType.timestamp,
  1182: PgType.date,
  1183: PgType.time,
  1185: PgType.timestamptz,
  1187: PgType.interval,
  1231: PgType.numeric,
  1270: PgType.timetz,
  199: PgType.json,
  2951: PgType.uuid,
  3807: PgType.jsonb,
  791: PgType.money,
};

/** Names of the built-in types, for schema change events (`pg_type.typname`). */
const BUILTIN_NAMES: Record<number, string> = Object.fromEntries([
  ...Object.entries(PgType).map(([name, oid]) => [oid, name]),
  ...Object.entries(BUILTIN_ARRAYS).map(([oid, elem]) => [Number(oid), `_${Object.entries(PgType).find(([, o]) => o === elem)?.[0]}`]),
]);

/** What the catalog (or a pgoutput Type message) says about a type that is not built in. */
export interface UserType {
  oid: number;
  schema: string;
  name: string;
  /** pg_type.typtype: b base, d domain, e enum, c composite, r range, m multirange, p pseudo. */
  kind?: string;
  /** Element type of an array type; 0 otherwise. */
  elementOid?: number;
  /** Base type of a domain; 0 otherwise. */
  baseOid?: number;
}

/** How a column's text value is turned into Debezium's JSON value. */
export type TypeShape =
  | { kind: 'scalar'; oid: number }
  | { kind: 'array'; element: TypeShape }
  /** Enums, and any type without a specific mapping: the text form as a string. */
  | { kind: 'string' };

/**
 * The types the converter knows: built-ins by OID, user types (enums, domains, arrays of them) from the
 * catalog and from pgoutput's Type messages. Anything unknown is carried as its text form.
 */
export class TypeRegistry {
  private readonly user = new Map<number, UserType>();

  addUserType(type: UserType): void {
    const known = this.user.get(type.oid);
    // A Type message names the type only; keep what the catalog said about its kind.
    this.user.set(type.oid, {
      ...known,
      ...type,
      kind: type.kind ?? known?.kind,
      elementOid: type.elementOid ?? known?.elementOid,
      baseOid: type.baseOid ?? known?.baseOid,
    });
  }

  shape(oid: number, depth = 0): TypeShape {
    if (depth > 8) return { kind: 'string' };
    if (BUILTIN_NAMES[oid] !== undefined && BUILTIN_ARRAYS[oid] === undefined) return { kind: 'scalar', oid };
    const builtinElement = BUILTIN_ARRAYS[oid];
    if (builtinElement !== undefined) return { kind: 'array', element: { kind: 'scalar', oid: builtinElement } };
    const user = this.user.get(oid);
    if (!user) return { kind: 'string' };
    if (user.kind === 'd' && user.baseOid) return this.shape(user.baseOid, depth + 1);
    if (user.elementOid) return { kind: 'array', element: this.shape(user.elementOid, depth + 1) };
    // An array type learnt from a Type message only (`_name`): an array of its elements' text.
    if (user.kind === undefined && user.name.startsWith('_')) return { kind: 'array', element: { kind: 'string' } };
    return { kind: 'string' };
  }

  /** `int8`, `timestamptz`, `_text`, `post_visibility`, ...; `oid:<n>` when unknown. */
  typeName(oid: number): string {
    return BUILTIN_NAMES[oid] ?? this.user.get(oid)?.name ?? `oid:${oid}`;
  }
}
