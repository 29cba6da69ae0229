import { loadPrivacyConfig } from './privacy.config';

describe('PRIVACY_REDIS_REFERENCES', () => {
  it('names, per key pattern, what in it is a user id', () => {
    expect(
      loadPrivacyConfig({ PRIVACY_REDIS_REFERENCES: 'r:u:*:muted=member,r:p:*=field:a,r:u:*:acts=element:USER|' }).PRIVACY_REDIS_REFERENCES,
    ).toEqual([
      { pattern: 'r:u:*:muted', kind: 'member' },
      { pattern: 'r:p:*', kind: 'field', field: 'a' },
      { pattern: 'r:u:*:acts', kind: 'element', start: 'USER|' },
    ]);
  });

  it('refuses a rule it does not know, naming the variable', () => {
    expect(() => loadPrivacyConfig({ PRIVACY_REDIS_REFERENCES: 'r:*' })).toThrow(
      /PRIVACY_REDIS_REFERENCES.*expected <glob pattern>=member/s,
    );
    expect(() => loadPrivacyConfig({ PRIVACY_REDIS_REFERENCES: 'r:*=segment' })).toThrow(/PRIVACY_REDIS_REFERENCES/);
  });
});
