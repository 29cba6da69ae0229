import { bucketOf, BUCKETS } from '@pulse/experiments';

/**
 * A drill for the experiments' sample-ratio-mismatch check (RECS_DRILL_LOSE_EXPOSURES): the served lists of a
 * share of one variant's users are not published, as a logging defect of that variant would lose them, so the
 * analysis can be seen to flag the split and withhold its verdict. Which users are lost is a pure function of the
 * user id (the same ones on every replica and list). Off unless set; never for production traffic.
 */
export interface ExposureLossDrill {
  experimentId: string;
  variant: string;
  /** (0, 1]: the share of the variant's users whose lists are lost. */
  share: number;
}

/** Parses `<experiment id>/<variant>=<share>`; empty: no drill. */
export function parseExposureLossDrill(text: string): ExposureLossDrill | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  const match = /^([^/\s=]+)\/([^/\s=]+)=(0?\.\d+|1(?:\.0+)?)$/.exec(trimmed);
  if (!match || !(Number(match[3]) > 0))
    throw new Error(`"${trimmed}" is not <experiment id>/<variant>=<share> with share in (0, 1], e.g. demo-srm/treatment=0.5`);
  return { experimentId: match[1], variant: match[2], share: Number(match[3]) };
}

/** Whether the drill loses this list: its experiment and variant, and the user among the drill's share. */
export function lostByDrill(drill: ExposureLossDrill | undefined, experimentId: string, variant: string, userId: string): boolean {
  if (!drill || experimentId !== drill.experimentId || variant !== drill.variant) return false;
  return bucketOf('exposure-loss-drill:', userId) < drill.share * BUCKETS;
}
