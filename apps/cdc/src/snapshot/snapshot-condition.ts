import { quoteIdent } from '@pulse/platform';

/** An `additional_conditions` predicate outside the grammar of `renderCondition`; the message names the problem. */
export class ConditionError extends Error {}

type Token =
  | { kind: 'ident'; text: string; quoted: boolean; at: number }
  | { kind: 'string'; value: string; at: number }
  | { kind: 'number'; text: string; at: number }
  | { kind: 'op'; text: string; at: number }
  | { kind: 'end'; at: number };

const COMPARISONS = new Set(['=', '<>', '!=', '<', '<=', '>', '>=']);
const ARITHMETIC = new Set(['+', '-', '*', '/', '%']);
const KEYWORDS = new Set(['and', 'or', 'not', 'is', 'null', 'in', 'true', 'false']);
const NUMBER = /^(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?/;
const IDENT = /^[A-Za-z_][A-Za-z0-9_$]*/;
const MAX_DEPTH = 32;

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    const rest = text.slice(i);
    if (/\s/.test(c)) {
      i++;
    } else if (rest.startsWith('--') || rest.startsWith('/*')) {
      throw new ConditionError(`comments are not allowed (at character ${i + 1})`);
    } else if (c === "'") {
      let value = '';
      let j = i + 1;
      for (;;) {
        if (j >= text.length) throw new ConditionError(`unterminated string literal (at character ${i + 1})`);
        if (text[j] === "'") {
          if (text[j + 1] === "'") {
            value += "'";
            j += 2;
            continue;
          }
          break;
        }
        value += text[j++];
      }
      if (value.includes('\0')) throw new ConditionError('a string literal contains a NUL character');
      tokens.push({ kind: 'string', value, at: i });
      i = j + 1;
    } else if (c === '"') {
      let j = i + 1;
      let name = '';
      for (;;) {
        const close = text.indexOf('"', j);
        if (close < 0) throw new ConditionError(`unterminated quoted identifier (at character ${i + 1})`);
        name += text.slice(j, close);
        if (text[close + 1] === '"') {
          name += '"';
          j = close + 2;
          continue;
        }
        j = close + 1;
        break;
      }
      tokens.push({ kind: 'ident', text: name, quoted: true, at: i });
      i = j;
    } else if (NUMBER.test(rest)) {
      const number = NUMBER.exec(rest)![0];
      tokens.push({ kind: 'number', text: number, at: i });
      i += number.length;
    } else if (IDENT.test(rest)) {
      const word = IDENT.exec(rest)![0];
      tokens.push({ kind: 'ident', text: word, quoted: false, at: i });
      i += word.length;
    } else {
      const two = rest.slice(0, 2);
      if (two === '::') throw new ConditionError(`casts are not allowed (at character ${i + 1})`);
      if (COMPARISONS.has(two)) {
        tokens.push({ kind: 'op', text: two, at: i });
        i += 2;
      } else if (COMPARISONS.has(c) || ARITHMETIC.has(c) || c === '(' || c === ')' || c === ',' || c === '.') {
        tokens.push({ kind: 'op', text: c, at: i });
        i++;
      } else {
        throw new ConditionError(`"${c}" is not allowed (at character ${i + 1})`);
      }
    }
  }
  tokens.push({ kind: 'end', at: text.length });
  return tokens;
}

/**
 * Renders an incremental snapshot's `additional_conditions` predicate as SQL over `columns`, string literals
 * appended to `params` and referenced as `$n`. The grammar is restricted to what a row filter needs:
 *
 *     condition  := or
 *     or         := and (OR and)*
 *     and        := not (AND not)*
 *     not        := NOT not | '(' or ')' | predicate
 *     predicate  := value ( comparison value | IS [NOT] NULL | [NOT] IN '(' literal (',' literal)* ')' )
 *     value      := operand (('+' | '-' | '*' | '/' | '%') operand)*
 *     operand    := column | literal
 *     literal    := 'string' | number | TRUE | FALSE
 *
 * with comparisons `= <> != < <= > >=`; a column is a name of the table (unquoted names fold to lower
 * case, as in PostgreSQL). Anything else (a subquery, a function call, a cast, a comment, a second
 * statement) is a ConditionError naming it.
 */
export function renderCondition(condition: string, columns: readonly string[], params: string[]): string {
  const tokens = tokenize(condition);
  let pos = 0;
  const peek = () => tokens[pos];
  const keyword = (t: Token, word: string) => t.kind === 'ident' && !t.quoted && t.text.toLowerCase() === word;
  const isOp = (t: Token, op: string) => t.kind === 'op' && t.text === op;
  const where = (t: Token) => (t.kind === 'end' ? 'at the end' : `at character ${t.at + 1}`);
  const describe = (t: Token) =>
    t.kind === 'end'
      ? 'the end'
      : t.kind === 'string'
        ? 'a string'
        : t.kind === 'ident' || t.kind === 'number' || t.kind === 'op'
          ? `"${t.text}"`
          : '';
  const fail = (expected: string): never => {
    const t = peek();
    throw new ConditionError(`expected ${expected}, found ${describe(t)} (${where(t)})`);
  };
  const expectOp = (op: string) => {
    if (!isOp(peek(), op)) fail(`"${op}"`);
    pos++;
  };

  const literal = (): string | undefined => {
    const t = peek();
    if (t.kind === 'string') {
      pos++;
      return `$${params.push(t.value)}`;
    }
    if (t.kind === 'number') {
      pos++;
      return t.text;
    }
    if (isOp(t, '-') && tokens[pos + 1].kind === 'number') {
      pos += 2;
      return `-${(tokens[pos - 1] as { text: string }).text}`;
    }
    if (keyword(t, 'true') || keyword(t, 'false')) {
      pos++;
      return keyword(t, 'true') ? 'TRUE' : 'FALSE';
    }
    return undefined;
  };

  const operand = (): string => {
    const t = peek();
    const lit = literal();
    if (lit !== undefined) return lit;
    if (t.kind === 'ident' && (t.quoted || !KEYWORDS.has(t.text.toLowerCase()))) {
      const next = tokens[pos + 1];
      if (!t.quoted && keyword(t, 'select')) throw new ConditionError(`subqueries are not allowed (${where(t)})`);
      if (isOp(next, '(')) throw new ConditionError(`function calls are not allowed: ${t.text}(…) (${where(t)})`);
      if (isOp(next, '.')) throw new ConditionError(`qualified names are not allowed: ${t.text}.… (${where(t)})`);
      const name = t.quoted ? t.text : t.text.toLowerCase();
      if (!columns.includes(name)) throw new ConditionError(`"${name}" is not a column of the table (${where(t)})`);
      pos++;
      return quoteIdent(name);
    }
    if (isOp(t, '(')) {
      const next = tokens[pos + 1];
      if (keyword(next, 'select') || keyword(next, 'with') || keyword(next, 'values'))
        throw new ConditionError(`subqueries are not allowed (${where(t)})`);
      throw new ConditionError(`parentheses group conditions, not values (${where(t)})`);
    }
    return fail('a column or a literal');
  };

  const value = (): string => {
    let sql = operand();
    while (peek().kind === 'op' && ARITHMETIC.has((peek() as { text: string }).text)) {
      const op = (peek() as { text: string }).text;
      pos++;
      sql += ` ${op} ${operand()}`;
    }
    return sql;
  };

  const predicate = (): string => {
    const left = value();
    const t = peek();
    if (t.kind === 'op' && COMPARISONS.has(t.text)) {
      pos++;
      return `${left} ${t.text} ${value()}`;
    }
    if (keyword(t, 'is')) {
      pos++;
      const not = keyword(peek(), 'not');
      if (not) pos++;
      if (!keyword(peek(), 'null')) fail('NULL');
      pos++;
      return `${left} IS ${not ? 'NOT ' : ''}NULL`;
    }
    const not = keyword(t, 'not');
    if (not) pos++;
    if (keyword(peek(), 'in')) {
      pos++;
      const open = peek();
      expectOp('(');
      const next = peek();
      if (keyword(next, 'select') || keyword(next, 'with') || keyword(next, 'values'))
        throw new ConditionError(`subqueries are not allowed (${where(open)})`);
      const items: string[] = [];
      do {
        if (items.length > 0) pos++;
        const lit = literal();
        if (lit === undefined) fail('a literal in the IN list');
        items.push(lit!);
      } while (isOp(peek(), ','));
      expectOp(')');
      return `${left} ${not ? 'NOT ' : ''}IN (${items.join(', ')})`;
    }
    return fail(not ? 'IN' : 'a comparison, IS [NOT] NULL or IN');
  };

  let depth = 0;
  const or = (): string => {
    if (++depth > MAX_DEPTH) throw new ConditionError(`nested deeper than ${MAX_DEPTH} levels`);
    const parts = [and()];
    while (keyword(peek(), 'or')) {
      pos++;
      parts.push(and());
    }
    depth--;
    return parts.join(' OR ');
  };
  const and = (): string => {
    const parts = [not()];
    while (keyword(peek(), 'and')) {
      pos++;
      parts.push(not());
    }
    return parts.join(' AND ');
  };
  const not = (): string => {
    if (keyword(peek(), 'not')) {
      pos++;
      return `NOT ${not()}`;
    }
    if (isOp(peek(), '(')) {
      const next = tokens[pos + 1];
      if (keyword(next, 'select') || keyword(next, 'with') || keyword(next, 'values'))
        throw new ConditionError(`subqueries are not allowed (${where(peek())})`);
      pos++;
      const inner = or();
      expectOp(')');
      return `(${inner})`;
    }
    return predicate();
  };

  const sql = or();
  if (peek().kind !== 'end') fail('AND, OR or the end of the condition');
  return sql;
}
