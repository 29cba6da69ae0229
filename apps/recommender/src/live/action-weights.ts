/**
 * How much each kind of action on a post says about a user's taste, for training (interactions from the lake)
 * and at serving time (the user's recent actions). Positive: engagement, stronger the more effort it takes;
 * negative: the user asked to see less, or took a like back. Impressions say nothing by themselves.
 * Configurable as `RECS_ACTION_WEIGHTS=view=1,like=3,...` (types as in ActivityType without the prefix).
 */
export const DEFAULT_ACTION_WEIGHTS: Readonly<Record<string, number>> = {
  VIEW: 1,
  CLICK: 1.5,
  LIKE: 3,
  BOOKMARK: 3,
  COMMENT: 4,
  SHARE: 4,
  UNLIKE: -3,
  HIDE: -6,
};

/** Parses `type=weight,...` over the defaults; throws naming the bad entry. */
export function parseActionWeights(text: string): Record<string, number> {
  const weights: Record<string, number> = { ...DEFAULT_ACTION_WEIGHTS };
  for (const entry of text
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean)) {
    const match = /^([a-z_]+)=(-?\d+(?:\.\d+)?)$/i.exec(entry);
    if (!match) throw new Error(`"${entry}" is not type=weight`);
    weights[match[1].toUpperCase()] = Number(match[2]);
  }
  return weights;
}

/** Exponential decay by age: 1 now, 0.5 after one half-life. */
export function decay(ageMs: number, halfLifeMs: number): number {
  return halfLifeMs > 0 ? Math.pow(0.5, Math.max(0, ageMs) / halfLifeMs) : 1;
}
