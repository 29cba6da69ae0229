import { ConditionError, renderCondition } from './snapshot-condition';

const COLUMNS = ['id', 'handle', 'email', 'created_at', 'Display'];

function render(condition: string): { sql: string; params: string[] } {
  const params: string[] = ['k'];
  return { sql: renderCondition(condition, COLUMNS, params), params };
}

describe('renderCondition', () => {
  it('renders comparisons, arithmetic, AND/OR/NOT, parentheses, IS [NOT] NULL and IN, string literals as parameters', () => {
    expect(render('id % 3 = 0')).toEqual({ sql: '"id" % 3 = 0', params: ['k'] });
    expect(render(`(handle = 'o''brien' OR email IS NOT NULL) and not id IN (1, -2, 3.5) AND created_at >= '2026-01-01'`)).toEqual({
      sql: `("handle" = $2 OR "email" IS NOT NULL) AND NOT "id" IN (1, -2, 3.5) AND "created_at" >= $3`,
      params: ['k', "o'brien", '2026-01-01'],
    });
    expect(render(`"Display" NOT IN ('a', 'b') OR ID <> 1 AND email is null`)).toEqual({
      sql: `"Display" NOT IN ($2, $3) OR "id" <> 1 AND "email" IS NULL`,
      params: ['k', 'a', 'b'],
    });
  });

  it.each([
    ['id IN (SELECT id FROM pg_catalog.pg_authid)', /subqueries are not allowed/],
    ['id = (SELECT 1)', /subqueries are not allowed/],
    ['(SELECT true)', /subqueries are not allowed/],
    ['EXISTS (SELECT 1)', /function calls are not allowed: EXISTS/],
    ["pg_read_file('/etc/passwd') = ''", /function calls are not allowed: pg_read_file/],
    ["lower(handle) = 'x'", /function calls are not allowed: lower/],
    ['users.id = 1', /qualified names are not allowed: users/],
    ['id = 1 -- and more', /comments are not allowed/],
    ['id = 1 /* x */', /comments are not allowed/],
    ['id = 1; DROP TABLE users', /";" is not allowed/],
    ["handle::text = 'x'", /casts are not allowed/],
    ['password = 1', /"password" is not a column of the table/],
    ['"Id" = 1', /"Id" is not a column of the table/],
    ['id = $1', /"\$" is not allowed/],
    ["id = 1 OR 'x", /unterminated string literal/],
    ['id = 1 2', /expected AND, OR or the end of the condition, found "2"/],
    ['id', /expected a comparison, IS \[NOT\] NULL or IN, found the end/],
    ['id IN (handle)', /expected a literal in the IN list/],
    ['', /expected a column or a literal/],
  ])('refuses %s', (condition, message) => {
    expect(() => render(condition)).toThrow(ConditionError);
    expect(() => render(condition)).toThrow(message);
  });

  it('refuses nesting deeper than it parses', () => {
    expect(() => render(`${'('.repeat(40)}id = 1${')'.repeat(40)}`)).toThrow(/nested deeper than 32 levels/);
  });
});
