// Summarises a V8 .cpuprofile: self time by function and by "where" (npm package, Node internals,
// the service's own sources through the bundle's source map, GC, idle).
import { existsSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { dirname, isAbsolute, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { REPO, round } from './bench.ts';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  profiled_ms: number;
  samples: number;
  /** Percent of profiled wall time of the main thread, by package / area; idle = waiting on I/O. */
  by_area_pct: Record<string, number>;
  /** Time by the deepest frame of the repo's own code on the stack (what our code asked for), >= 0.5% each. */
  by_app_frame_pct: Record<string, number>;
  /**
   * Top functions by self time, percent of profiled time (idle excluded from the list, not from the base);
   * `via`: the nearest callers outside the function's own package, with their share.
   */
  top_self: { fn: string; where: string; pct: number; via: string[] }[];
}

const sourceMaps = new Map<string, SourceMap | null>();

/**
 * A bundle's source path as a repo path. Webpack names sources relative to its context, the project
 * folder: dist/apps/ingest/main.js was built from apps/ingest, so `webpack:///./src/x.ts` is
 * apps/ingest/src/x.ts and `webpack:///../../libs/y.ts` is libs/y.ts.
 */
function bundleSource(bundleUrl: string, source: string): string {
  const bundle = bundleUrl.startsWith('file://') ? fileURLToPath(bundleUrl) : bundleUrl;
  const rel = relative(REPO, dirname(bundle)).replace(/^dist\//, '');
  const path = source.replace(/^webpack:\/\/[^/]*\//, '').replace(/^file:\/\//, '');
  if (isAbsolute(path)) return relative(REPO, path);
  return relative(REPO, join(REPO, rel, path));
}

function sourceMapFor(url: string): SourceMap | null {
  if (sourceMaps.has(url)) return sourceMaps.get(url)!;
  let map: SourceMap | null = null;
  try {
    const file = url.startsWith('file://') ? fileURLToPath(url) : url;
    if (existsSync(`${file}.map`)) map = new SourceMap(JSON.parse(readFileSync(`${file}.map`, 'utf8')));
  } catch {
    map = null;
  }
  sourceMaps.set(url, map);
  return map;
}

/** Where a frame's code lives: npm package, node internal module, repo source file, or a V8 pseudo-frame. */
function whereOf(frame: CallFrame): { area: string; where: string } {
  const { url, functionName, lineNumber, columnNumber } = frame;
  if (!url) {
    const pseudo = functionName.replace(/[()]/g, '') || 'anonymous';
    if (pseudo === 'garbage collector') return { area: '(gc)', where: 'V8' };
    if (pseudo === 'idle') return { area: '(idle)', where: 'V8' };
    if (pseudo === 'program') return { area: '(program: native, not attributed to JS)', where: 'V8' };
    // Functions compiled from strings: protobufjs' generated codecs (proto-loader, i.e. the gRPC layer).
    if (/\$(decode|encode|toObject|fromObject|verify)$/.test(pseudo))
      return { area: 'protobufjs (generated codecs)', where: 'new Function' };
    return { area: '(native builtins)', where: 'V8' };
  }
  if (url.startsWith('node:')) {
    const mod = url.slice('node:'.length).replace(/^internal\//, '');
    const group = mod.split('/').slice(0, 2).join('/');
    return { area: `node:${group}`, where: `${url}:${lineNumber + 1}` };
  }
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + '/node_modules/'.length).split('/');
    const pkg = rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
    const file = rest.slice(rest[0].startsWith('@') ? 2 : 1).join('/');
    return { area: pkg, where: `${pkg}/${file}:${lineNumber + 1}` };
  }
  const map = sourceMapFor(url);
  if (map) {
    const entry = map.findEntry(lineNumber, columnNumber) as { originalSource?: string; originalLine?: number };
    if (entry?.originalSource) {
      const source = bundleSource(url, entry.originalSource);
      const top = source.split('/').slice(0, 2).join('/'); // apps/ingest, libs/platform, libs/contracts
      return { area: top, where: `${source}:${(entry.originalLine ?? 0) + 1}` };
    }
  }
  const path = url.startsWith('file://') ? relative(REPO, fileURLToPath(url)) : url;
  return { area: path, where: `${path}:${lineNumber + 1}` };
}

export function summarizeProfile(file: string, top = 25): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  for (const n of profile.nodes) byId.set(n.id, n);

  // Sample i lasts until sample i+1: its duration is timeDeltas[i+1] (µs).
  const selfUs = new Map<number, number>();
  const { samples, timeDeltas } = profile;
  for (let i = 0; i < samples.length; i++) {
    const dt = i + 1 < timeDeltas.length ? timeDeltas[i + 1] : 0;
    selfUs.set(samples[i], (selfUs.get(samples[i]) ?? 0) + Math.max(0, dt));
  }
  let totalUs = 0;
  for (const us of selfUs.values()) totalUs += us;

  const parentOf = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id);
  const label = (id: number) => {
    const frame = byId.get(id)!.callFrame;
    return `${frame.functionName || '(anonymous)'}@${whereOf(frame).where}`;
  };

  const byArea = new Map<string, number>();
  const byFn = new Map<string, { fn: string; where: string; us: number; callers: Map<string, number> }>();
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)!.callFrame;
    const { area, where } = whereOf(frame);
    byArea.set(area, (byArea.get(area) ?? 0) + us);
    if (area === '(idle)') continue;
    const fn = frame.functionName || '(anonymous)';
    const key = `${fn}@${where}`;
    const entry = byFn.get(key) ?? { fn, where, us: 0, callers: new Map<string, number>() };
    entry.us += us;
    // The nearest caller outside the function's own package: who asked for this work.
    let parent = parentOf.get(id);
    const ownArea = area;
    while (parent !== undefined && whereOf(byId.get(parent)!.callFrame).area === ownArea && byId.get(parent)!.callFrame.url) {
      parent = parentOf.get(parent);
    }
    if (parent !== undefined) entry.callers.set(label(parent), (entry.callers.get(label(parent)) ?? 0) + us);
    byFn.set(key, entry);
  }
  // Inclusive view from the service's own code: each sample goes to the deepest frame of the
  // repo's sources (apps/, libs/) on its stack, i.e. the line of our code that caused the work.
  const appFrameCache = new Map<number, string>();
  const appFrameOf = (id: number): string => {
    const cached = appFrameCache.get(id);
    if (cached !== undefined) return cached;
    let result: string | undefined;
    for (let n: number | undefined = id; n !== undefined; n = parentOf.get(n)) {
      const frame = byId.get(n)!.callFrame;
      const w = whereOf(frame);
      if (/^(apps|libs)\//.test(w.area)) {
        result = `${frame.functionName || '(anonymous)'}@${w.where.replace(/:\d+$/, '')}`;
        break;
      }
    }
    if (result === undefined) {
      // No frame of ours: name the outermost package frame (who called back into JS).
      let outer = 'unknown';
      for (let n: number | undefined = id; n !== undefined; n = parentOf.get(n)) {
        const w = whereOf(byId.get(n)!.callFrame);
        if (!w.area.startsWith('node:') && !w.area.startsWith('(')) outer = w.area;
      }
      const leaf = whereOf(byId.get(id)!.callFrame).area;
      result = leaf === '(idle)' || leaf === '(gc)' || leaf.startsWith('(program') ? leaf : `(no app frame: ${outer})`;
    }
    appFrameCache.set(id, result);
    return result;
  };
  const byAppFrame = new Map<string, number>();
  for (const [id, us] of selfUs) byAppFrame.set(appFrameOf(id), (byAppFrame.get(appFrameOf(id)) ?? 0) + us);

  const pct = (us: number) => round((100 * us) / totalUs, 1);
  const areas = [...byArea.entries()].sort((a, b) => b[1] - a[1]);
  const by_area_pct: Record<string, number> = {};
  let small = 0;
  for (const [area, us] of areas) {
    if (pct(us) >= 0.5) by_area_pct[area] = pct(us);
    else small += us;
  }
  if (small > 0) by_area_pct['(other, <0.5% each)'] = pct(small);
  return {
    profiled_ms: round(totalUs / 1000),
    samples: samples.length,
    by_area_pct,
    by_app_frame_pct: Object.fromEntries(
      [...byAppFrame.entries()]
        .sort((a, b) => b[1] - a[1])
        .filter(([, us]) => pct(us) >= 0.5)
        .map(([k, us]) => [k, pct(us)]),
    ),
    top_self: [...byFn.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((e) => ({
        fn: e.fn,
        where: e.where,
        pct: pct(e.us),
        via: [...e.callers.entries()]
          .sort((a, b) => b[1] - a[1])
          .slice(0, 2)
          .map(([c, us]) => `${c} (${pct(us)}%)`),
      })),
  };
}
