import type { Logger } from '@pulse/platform';
import { PeerError } from '../peers/peer-error';
import { Html, markup } from './html';

export type NavKey = 'overview' | 'users' | 'models' | 'lake' | 'insights' | 'logs' | 'experiments';

const NAV: { key: NavKey; href: string; label: string }[] = [
  { key: 'overview', href: '/', label: 'Overview' },
  { key: 'users', href: '/users', label: 'Users' },
  { key: 'models', href: '/models', label: 'Models' },
  { key: 'lake', href: '/lake', label: 'Lake' },
  { key: 'insights', href: '/insights', label: 'Insights' },
  { key: 'logs', href: '/logs', label: 'Logs' },
  { key: 'experiments', href: '/experiments', label: 'Experiments' },
];

/** A whole page: the navigation, the page's panels, and the one script that refreshes them and draws the charts. */
export function page(title: string, active: NavKey, body: Html): string {
  return markup`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${title} · Pulse console</title>
        <link rel="stylesheet" href="/assets/vendor/uPlot.min.css" />
        <link rel="stylesheet" href="/assets/console.css" />
        <script type="module" src="/assets/console.js"></script>
      </head>
      <body>
        <header>
          <a class="brand" href="/">Pulse</a>
          <nav>${NAV.map((n) => markup`<a href="${n.href}" class="${n.key === active ? 'active' : ''}">${n.label}</a>`)}</nav>
          <span class="live" data-live>live</span>
        </header>
        <main>
          <h1>${title}</h1>
          <p id="flash" role="status" aria-live="polite"></p>
          ${body}
        </main>
      </body>
    </html>`.value;
}

/**
 * A panel of a page: its body now, and the URL of a fragment endpoint that renders the same body again, which
 * the page's script fetches every `refreshMs` (0: never). Each panel is fetched on its own, so one slow or
 * missing service leaves the others alone.
 */
export function panel(options: { id: string; title: string; src?: string; refreshMs?: number; wide?: boolean }, body: Html): Html {
  return markup`<section
    class="panel${options.wide ? ' wide' : ''}"
    id="${options.id}"
    data-src="${options.src ?? ''}"
    data-refresh="${options.refreshMs ?? 0}"
  >
    <h2>${options.title}</h2>
    <div class="panel-body">${body}</div>
  </section>`;
}

/** A table: a header row and the rows; `empty` says, in one row, why there are none. */
export function table(headers: readonly string[], rows: readonly Html[], empty = 'none'): Html {
  const body = rows.length > 0 ? rows : markup`<tr><td colspan="${headers.length}" class="muted">${empty}</td></tr>`;
  return markup`<table><thead><tr>${headers.map((h) => markup`<th>${h}</th>`)}</tr></thead><tbody>${body}</tbody></table>`;
}

/** A chart drawn by the page's script from a JSON endpoint (ChartData), refreshed every `refreshMs`. */
export function chart(id: string, src: string, refreshMs: number): Html {
  return markup`<div class="chart" id="${id}" data-chart="${src}" data-refresh="${refreshMs}">
    <p class="muted">waiting for samples…</p>
  </div>`;
}

/** What a panel shows when its service could not be asked or refused: which service, where, the status and reason. */
export function failure(error: unknown): Html {
  if (error instanceof PeerError) {
    return error.unreachable
      ? markup`<p class="error" data-unreachable="${error.service}">
          <strong>${error.service}</strong> unreachable at <code>${error.address}</code> — ${error.reason}
        </p>`
      : markup`<p class="error" data-status="${error.status}">
          <strong>${error.service}</strong> answered <code>${error.status}</code>: ${error.reason}
        </p>`;
  }
  return markup`<p class="error">console error: ${error instanceof Error ? error.message : String(error)}</p>`;
}

/** Renders a panel body, turning any failure into `failure(...)`: a panel never takes the page down. */
export async function settle(render: () => Promise<Html>, logger?: Logger): Promise<Html> {
  try {
    return await render();
  } catch (error) {
    if (!(error instanceof PeerError)) logger?.warn({ err: error }, 'panel failed');
    return failure(error);
  }
}
