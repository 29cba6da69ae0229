import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

/**
 * Lifecycle rules in the spirit of S3's: a filter (key prefix and/or tags, all of which must match) and
 * up to three actions, each after an age. Ages count from the object's creation; uploads that never
 * completed are aged from their start.
 *
 * ```yaml
 * rules:
 *   - id: expire-scratch
 *     filter: { prefix: "scratch/" }
 *     expireAfterDays: 7
 *   - id: archive-videos
 *     filter: { tags: [video] }
 *     archiveAfterDays: 30
 *     expireAfterDays: 365
 *   - id: abort-stale-uploads
 *     abortIncompleteUploadsAfterHours: 24
 * ```
 */
export interface LifecycleRule {
  id: string;
  enabled: boolean;
  filter: { prefix: string; tags: string[] };
  /** Delete the object this many days after creation. */
  expireAfterDays?: number;
  /** Move the object from STANDARD to ARCHIVE this many days after creation. */
  archiveAfterDays?: number;
  /** Discard an upload that has not completed this many hours after it started (prefix filters only). */
  abortIncompleteUploadsAfterHours?: number;
}

const TAG = /^[a-z0-9_-]{1,64}$/;
const PREFIX = /^[a-z0-9/_-]{0,256}$/;

const ruleSchema = z
  .object({
    id: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'id: 1..64 characters of [A-Za-z0-9._-]'),
    enabled: z.boolean().default(true),
    filter: z
      .object({
        prefix: z.string().regex(PREFIX, 'filter.prefix: at most 256 characters of [a-z0-9/_-]').default(''),
        tags: z.array(z.string().regex(TAG, 'filter.tags: each 1..64 characters of [a-z0-9_-]')).max(20).default([]),
      })
      .strict()
      .default({ prefix: '', tags: [] }),
    expireAfterDays: z.number().int().min(0).optional(),
    archiveAfterDays: z.number().int().min(0).optional(),
    abortIncompleteUploadsAfterHours: z.number().min(0).optional(),
  })
  .strict()
  .superRefine((rule, ctx) => {
    if (rule.expireAfterDays === undefined && rule.archiveAfterDays === undefined && rule.abortIncompleteUploadsAfterHours === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: `rule "${rule.id}" has no action (expireAfterDays, archiveAfterDays or abortIncompleteUploadsAfterHours)`,
      });
    }
    if (rule.expireAfterDays !== undefined && rule.archiveAfterDays !== undefined && rule.archiveAfterDays >= rule.expireAfterDays) {
      ctx.addIssue({ code: 'custom', message: `rule "${rule.id}": archiveAfterDays must be less than expireAfterDays` });
    }
    // As in S3: an incomplete upload has no tags yet, so a tag filter could never match it.
    if (rule.abortIncompleteUploadsAfterHours !== undefined && rule.filter.tags.length > 0) {
      ctx.addIssue({ code: 'custom', message: `rule "${rule.id}": abortIncompleteUploadsAfterHours cannot be combined with a tag filter` });
    }
  });

const rulesSchema = z.array(ruleSchema).superRefine((rules, ctx) => {
  const seen = new Set<string>();
  for (const rule of rules) {
    if (seen.has(rule.id)) ctx.addIssue({ code: 'custom', message: `duplicate rule id "${rule.id}"` });
    seen.add(rule.id);
  }
});

/** Parses rules from YAML or JSON text (JSON is YAML); throws an Error that says what is wrong. */
export function parseLifecycleRules(text: string): LifecycleRule[] {
  if (!text.trim()) return [];
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (error) {
    throw new Error(`not YAML or JSON: ${(error as Error).message.split('\n')[0]}`);
  }
  if (doc === null || doc === undefined) return [];
  // a list of rules, or an object whose only key is "rules"
  const list = Array.isArray(doc)
    ? doc
    : typeof doc === 'object' && Object.keys(doc).join() === 'rules'
      ? (doc as { rules: unknown }).rules
      : undefined;
  if (list === undefined) throw new Error('expected a list of rules, or { rules: [...] }');
  const result = rulesSchema.safeParse(list);
  if (!result.success) {
    throw new Error(
      result.error.issues
        .map((i) => {
          const [index, ...rest] = i.path.map(String);
          return index === undefined ? i.message : `rules[${index}]${rest.length ? `.${rest.join('.')}` : ''}: ${i.message}`;
        })
        .join('; '),
    );
  }
  return result.data;
}

/** Config field: rules written inline in the variable. */
export const lifecycleRulesText = () =>
  z
    .string()
    .default('')
    .transform((text, ctx) => {
      try {
        return parseLifecycleRules(text);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
        return z.NEVER;
      }
    });

/** Config field: the path of a YAML or JSON file holding the rules. */
export const lifecycleRulesFile = () =>
  z
    .string()
    .default('')
    .transform((path, ctx) => {
      if (!path) return [];
      let text: string;
      try {
        text = readFileSync(path, 'utf8');
      } catch (error) {
        ctx.addIssue({
          code: 'custom',
          message: `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
        });
        return z.NEVER;
      }
      try {
        return parseLifecycleRules(text);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: `${path}: ${(error as Error).message}` });
        return z.NEVER;
      }
    });

/** What a rule says about one object. */
export interface ObjectFacts {
  /** Logical key: the media prefix followed by the media id. */
  key: string;
  tags: readonly string[];
  createdAt: Date;
  archived: boolean;
}

export type LifecycleDecision = { type: 'expire' | 'archive'; rule: LifecycleRule } | undefined;

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

export function ruleMatches(rule: LifecycleRule, key: string, tags: readonly string[]): boolean {
  return rule.enabled && key.startsWith(rule.filter.prefix) && rule.filter.tags.every((t) => tags.includes(t));
}

/**
 * The action due for an object now. As in S3, expiry wins over a transition, and among several matching
 * rules of one kind the one that acts earliest decides. An archived object is never archived again.
 */
export function decide(rules: readonly LifecycleRule[], object: ObjectFacts, now: Date): LifecycleDecision {
  const age = now.getTime() - object.createdAt.getTime();
  const due = (days: number | undefined): days is number => days !== undefined && age >= days * DAY_MS;
  const matching = rules.filter((r) => ruleMatches(r, object.key, object.tags));
  const earliest = (pick: (r: LifecycleRule) => number | undefined) =>
    matching.filter((r) => due(pick(r))).sort((a, b) => (pick(a) as number) - (pick(b) as number))[0];
  const expire = earliest((r) => r.expireAfterDays);
  if (expire) return { type: 'expire', rule: expire };
  if (object.archived) return undefined;
  const archive = earliest((r) => r.archiveAfterDays);
  return archive ? { type: 'archive', rule: archive } : undefined;
}

/** The rule that discards an incomplete upload (under `prefix`, started at `startedAt`) now, if any. */
export function abortRuleFor(rules: readonly LifecycleRule[], prefix: string, startedAt: Date, now: Date): LifecycleRule | undefined {
  const age = now.getTime() - startedAt.getTime();
  return rules
    .filter((r) => r.abortIncompleteUploadsAfterHours !== undefined && ruleMatches(r, prefix, []))
    .filter((r) => age >= (r.abortIncompleteUploadsAfterHours as number) * HOUR_MS)
    .sort((a, b) => (a.abortIncompleteUploadsAfterHours as number) - (b.abortIncompleteUploadsAfterHours as number))[0];
}

/** The youngest age (in days) at which any rule expires or archives: older objects are sweep candidates. */
export function minimumObjectAgeDays(rules: readonly LifecycleRule[]): number | undefined {
  const ages = rules
    .filter((r) => r.enabled)
    .flatMap((r) => [r.expireAfterDays, r.archiveAfterDays].filter((d): d is number => d !== undefined));
  return ages.length ? Math.min(...ages) : undefined;
}
