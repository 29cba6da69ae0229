import { loadPrivacyConfig } from './privacy.config';

describe('PRIVACY_REDIS_REFERENCES', () => {
  it('names, per key pattern, what in it is a user id', () => {
    expect(
      loadPrivacyConfig({ PRIVACY_REDIS_REFERENCES: 'r:u:*:muted=member,r:h:*=field:a,r:p:*=part:2,r:u:*:acts=element:USER|' })
        .PRIVACY_REDIS_REFERENCES,
    ).toEqual([
      { pattern: 'r:u:*:muted', kind: 'member' },
      { pattern: 'r:h:*', kind: 'field', field: 'a' },
      { pattern: 'r:p:*', kind: 'part', part: 2 },
      { pattern: 'r:u:*:acts', kind: 'element', start: 'USER|' },
    ]);
  });

  it('refuses a rule it does not know, naming the variable', () => {
    expect(() => loadPrivacyConfig({ PRIVACY_REDIS_REFERENCES: 'r:*' })).toThrow(
      /PRIVACY_REDIS_REFERENCES.*expected <glob pattern>=member/s,
    );
    expect(() => loadPrivacyConfig({ PRIVACY_REDIS_REFERENCES: 'r:*=segment' })).toThrow(/PRIVACY_REDIS_REFERENCES/);
    expect(() => loadPrivacyConfig({ PRIVACY_REDIS_REFERENCES: 'r:*=part:a' })).toThrow(/PRIVACY_REDIS_REFERENCES/);
  });
});
