import { ALL_SCOPES, grants, parseScopes } from './scopes';

describe('scopes', () => {
  it('grant what they name, and admin grants every scope', () => {
    expect(grants(['recs:read'], 'recs:read')).toBe(true);
    expect(grants(['recs:read'], 'storage:read')).toBe(false);
    for (const scope of ALL_SCOPES) expect(grants(['admin'], scope)).toBe(true);
    expect(grants([], 'recs:read')).toBe(false);
  });

  it('parse from commas or spaces, refusing unknown ones by name', () => {
    expect(parseScopes('events:write, recs:read recs:read')).toEqual(['events:write', 'recs:read']);
    expect(() => parseScopes('recs:read,recs:write')).toThrow(/unknown scope recs:write/);
    expect(() => parseScopes(' ')).toThrow(/at least one scope/);
  });
});
