import { loadStorageConfig } from '../config/storage.config';
import { abortRuleFor, decide, type LifecycleRule, minimumObjectAgeDays, parseLifecycleRules, ruleMatches } from './lifecycle-rules';

const DAY = 86_400_000;
const now = new Date('2026-06-01T00:00:00Z');
const daysAgo = (d: number) => new Date(now.getTime() - d * DAY);
const rule = (r: Partial<LifecycleRule> & { id: string }): LifecycleRule => ({ enabled: true, filter: { prefix: '', tags: [] }, ...r });

describe('lifecycle rules', () => {
  describe('parsing', () => {
    it('reads YAML with defaults filled in', () => {
      const rules = parseLifecycleRules(`
rules:
  - id: scratch
    filter: { prefix: "scratch/" }
    expireAfterDays: 7
  - id: uploads
    abortIncompleteUploadsAfterHours: 24
`);
      expect(rules).toEqual([
        { id: 'scratch', enabled: true, filter: { prefix: 'scratch/', tags: [] }, expireAfterDays: 7 },
        { id: 'uploads', enabled: true, filter: { prefix: '', tags: [] }, abortIncompleteUploadsAfterHours: 24 },
      ]);
    });

    it('reads JSON, as a list or under "rules", and nothing from empty text', () => {
      const json = '[{"id":"a","filter":{"tags":["video"]},"archiveAfterDays":30,"expireAfterDays":365}]';
      expect(parseLifecycleRules(json)).toEqual(parseLifecycleRules(`{"rules": ${json}}`));
      expect(parseLifecycleRules(json)[0]).toMatchObject({ filter: { prefix: '', tags: ['video'] }, archiveAfterDays: 30 });
      expect(parseLifecycleRules('  ')).toEqual([]);
    });

    it.each([
      ['[{"id":"a"}]', /no action/],
      ['[{"id":"a","expireAfterDays":1},{"id":"a","expireAfterDays":2}]', /duplicate rule id "a"/],
      ['[{"id":"a","archiveAfterDays":30,"expireAfterDays":30}]', /archiveAfterDays must be less than expireAfterDays/],
      ['[{"id":"a","filter":{"tags":["x"]},"abortIncompleteUploadsAfterHours":1}]', /cannot be combined with a tag filter/],
      ['[{"id":"a","expireAfterDays":-1}]', /expireAfterDays/],
      ['[{"id":"a","expireAfterDays":1.5}]', /expireAfterDays/],
      ['[{"id":"a","expiresAfterDays":1}]', /expiresAfterDays/],
      ['[{"id":"a","filter":{"prefix":"UPPER/"},"expireAfterDays":1}]', /filter\.prefix/],
      ['rules: [unclosed', /not YAML or JSON/],
    ])('refuses %s', (text, message) => {
      expect(() => parseLifecycleRules(text)).toThrow(message);
    });
  });

  describe('matching', () => {
    it('needs the key prefix and every tag of the filter; a disabled rule matches nothing', () => {
      const r = rule({ id: 'r', filter: { prefix: 'avatars/', tags: ['a', 'b'] }, expireAfterDays: 1 });
      expect(ruleMatches(r, 'avatars/123', ['b', 'a', 'c'])).toBe(true);
      expect(ruleMatches(r, 'avatars/123', ['a'])).toBe(false);
      expect(ruleMatches(r, 'banners/123', ['a', 'b'])).toBe(false);
      expect(ruleMatches(rule({ id: 'all', expireAfterDays: 1 }), 'anything', [])).toBe(true);
      expect(ruleMatches({ ...r, enabled: false }, 'avatars/123', ['a', 'b'])).toBe(false);
    });
  });

  describe('deciding', () => {
    const rules = [
      rule({ id: 'cold', filter: { prefix: 'cold/', tags: [] }, archiveAfterDays: 30, expireAfterDays: 365 }),
      rule({ id: 'ephemeral', filter: { prefix: '', tags: ['ephemeral'] }, expireAfterDays: 1 }),
      rule({ id: 'cold-video', filter: { prefix: 'cold/', tags: ['video'] }, archiveAfterDays: 10 }),
    ];
    const object = (key: string, age: number, tags: string[] = [], archived = false) => ({ key, tags, createdAt: daysAgo(age), archived });

    it('does nothing before a rule is due', () => {
      expect(decide(rules, object('cold/x', 29), now)).toBeUndefined();
      expect(decide(rules, object('hot/x', 1000), now)).toBeUndefined();
    });

    it('archives once due, and never archives twice', () => {
      expect(decide(rules, object('cold/x', 30), now)).toMatchObject({ type: 'archive', rule: { id: 'cold' } });
      expect(decide(rules, object('cold/x', 100, [], true), now)).toBeUndefined();
    });

    it('lets expiry win over archiving, and the earliest rule of a kind decide', () => {
      expect(decide(rules, object('cold/x', 400), now)).toMatchObject({ type: 'expire', rule: { id: 'cold' } });
      expect(decide(rules, object('cold/x', 400, [], true), now)).toMatchObject({ type: 'expire' });
      expect(decide(rules, object('cold/x', 40, ['ephemeral']), now)).toMatchObject({ type: 'expire', rule: { id: 'ephemeral' } });
      expect(decide(rules, object('cold/x', 12, ['video']), now)).toMatchObject({ type: 'archive', rule: { id: 'cold-video' } });
    });

    it('ages incomplete uploads in hours and matches them by prefix only', () => {
      const abort = [
        rule({ id: 'slow', abortIncompleteUploadsAfterHours: 48 }),
        rule({ id: 'tmp', filter: { prefix: 'tmp/', tags: [] }, abortIncompleteUploadsAfterHours: 1 }),
      ];
      const hoursAgo = (h: number) => new Date(now.getTime() - h * 3_600_000);
      expect(abortRuleFor(abort, 'tmp/', hoursAgo(2), now)?.id).toBe('tmp');
      expect(abortRuleFor(abort, 'pics/', hoursAgo(2), now)).toBeUndefined();
      expect(abortRuleFor(abort, 'pics/', hoursAgo(49), now)?.id).toBe('slow');
      expect(abortRuleFor(rules, '', hoursAgo(1000), now)).toBeUndefined();
    });

    it('knows the youngest age any object rule acts at', () => {
      expect(minimumObjectAgeDays(rules)).toBe(1);
      expect(minimumObjectAgeDays([rule({ id: 'u', abortIncompleteUploadsAfterHours: 1 })])).toBeUndefined();
    });
  });
});

describe('lifecycle configuration', () => {
  it('refuses to start on bad rules, naming the variable', () => {
    expect(() => loadStorageConfig({ MEDIA_LIFECYCLE_RULES: '[{"id":"a"}]' })).toThrow(
      /MEDIA_LIFECYCLE_RULES: rules\[0\]: rule "a" has no action/,
    );
    expect(() => loadStorageConfig({ MEDIA_LIFECYCLE_RULES_FILE: '/nonexistent/rules.yaml' })).toThrow(
      /MEDIA_LIFECYCLE_RULES_FILE: cannot read/,
    );
  });

  it('reads rules from the variable', () => {
    expect(loadStorageConfig({ MEDIA_LIFECYCLE_RULES: '[{"id":"a","expireAfterDays":3}]' }).MEDIA_LIFECYCLE_RULES).toEqual([
      { id: 'a', enabled: true, filter: { prefix: '', tags: [] }, expireAfterDays: 3 },
    ]);
  });
});
