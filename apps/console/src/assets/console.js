// The console's one script: refreshes each panel from its fragment URL, draws the charts with uPlot (served by
// the console from the uplot package), and sends the pages' actions. Panels refresh on their own: one slow
// service delays only its panel.
import uPlot from '/assets/vendor/uPlot.esm.js';

const REQUEST_TIMEOUT_MS = 8000;
const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#d97706', '#7c3aed', '#0891b2', '#db2777', '#65a30d', '#475569'];

const flash = (text, kind) => {
  const el = document.getElementById('flash');
  if (!el) return;
  el.textContent = text;
  el.className = kind;
};

const markLive = (ok) => {
  const el = document.querySelector('[data-live]');
  if (!el) return;
  el.textContent = ok ? `live · ${new Date().toLocaleTimeString()}` : 'console not answering';
  el.classList.toggle('stale', !ok);
};

async function get(url, accept) {
  const response = await fetch(url, { headers: { accept }, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  const body = accept === 'application/json' ? await response.json().catch(() => ({})) : await response.text();
  return { ok: response.ok, status: response.status, body };
}

/** `service STATUS: reason` of an error answer of the console's JSON endpoints. */
function errorText(body, status) {
  const e = body && body.error;
  if (!e || typeof e !== 'object') return `HTTP ${status}${body && body.message ? `: ${body.message}` : ''}`;
  if (e.unreachable) return `${e.service} unreachable at ${e.address}: ${e.reason}`;
  return `${e.service} answered ${e.status}: ${e.reason}`;
}

// ---------------------------------------------------------------------------------------------- panels
const panelTimers = new Map();

async function refreshPanel(section) {
  const src = section.dataset.src;
  if (!src) return;
  try {
    const answer = await get(src, 'text/html');
    if (!answer.ok) throw new Error(`HTTP ${answer.status}`);
    section.querySelector('.panel-body').innerHTML = answer.body;
    section.classList.remove('stale');
    section.dataset.refreshedAt = String(Date.now());
    markLive(true);
  } catch {
    section.classList.add('stale');
    markLive(false);
  }
}

function schedulePanels() {
  for (const section of document.querySelectorAll('section.panel[data-src]')) {
    const every = Number(section.dataset.refresh);
    if (!section.dataset.src || !(every > 0)) continue;
    const tick = async () => {
      await refreshPanel(section);
      panelTimers.set(section.id, setTimeout(tick, every));
    };
    panelTimers.set(section.id, setTimeout(tick, every));
  }
}

// ---------------------------------------------------------------------------------------------- charts
const plots = new Map();

function drawChart(el, data) {
  const labels = data.series.map((s) => s.label);
  if (data.x.length === 0 || labels.length === 0) {
    plots.get(el.id)?.plot.destroy();
    plots.delete(el.id);
    el.innerHTML = `<p class="muted">${labels.length === 0 && data.x.length > 0 ? 'nothing reported yet' : 'waiting for samples…'}</p>`;
    return;
  }
  const aligned = [data.x, ...data.series.map((s) => s.values)];
  const current = plots.get(el.id);
  if (current && current.key === labels.join('\u0000')) {
    current.plot.setData(aligned);
    return;
  }
  current?.plot.destroy();
  el.innerHTML = '';
  const plot = new uPlot(
    {
      width: Math.max(300, el.clientWidth),
      height: 220,
      series: [
        {},
        ...labels.map((label, i) => ({
          label,
          stroke: COLORS[i % COLORS.length],
          width: 2,
          spanGaps: false,
          points: { show: data.x.length < 60 },
        })),
      ],
      axes: [{}, { label: data.unit, size: 70 }],
      // One point (a single model version): an hour either side instead of uPlot's years.
      scales: { x: { time: true, range: (u, min, max) => (min === max ? [min - 3600, max + 3600] : [min, max]) } },
      legend: { live: true },
    },
    aligned,
    el,
  );
  plots.set(el.id, { plot, key: labels.join('\u0000') });
}

async function refreshChart(el) {
  try {
    const answer = await get(el.dataset.chart, 'application/json');
    if (!answer.ok) {
      plots.get(el.id)?.plot.destroy();
      plots.delete(el.id);
      el.innerHTML = `<p class="error">${escapeText(errorText(answer.body, answer.status))}</p>`;
      return;
    }
    drawChart(el, answer.body);
    el.dataset.points = String(answer.body.x.length);
  } catch {
    markLive(false);
  }
}

function scheduleCharts() {
  for (const el of document.querySelectorAll('[data-chart]')) {
    const every = Number(el.dataset.refresh) || 5000;
    const tick = async () => {
      await refreshChart(el);
      setTimeout(tick, every);
    };
    void tick();
  }
  window.addEventListener('resize', () => {
    for (const [id, { plot }] of plots) {
      const el = document.getElementById(id);
      if (el) plot.setSize({ width: Math.max(300, el.clientWidth), height: 220 });
    }
  });
}

function escapeText(text) {
  const div = document.createElement('div');
  div.textContent = text;
  return div.innerHTML;
}

// ---------------------------------------------------------------------------------------------- forms
document.addEventListener('submit', async (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement)) return;
  if (form.dataset.action) {
    event.preventDefault();
    const button = form.querySelector('button');
    if (button) button.disabled = true;
    try {
      const response = await fetch(form.dataset.action, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify(Object.fromEntries(new FormData(form))),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      const body = await response.json().catch(() => ({}));
      if (response.ok) flash(body.message ?? 'done', 'ok');
      else flash(errorText(body, response.status), 'error');
    } catch (error) {
      flash(`the console did not answer: ${error.message}`, 'error');
    } finally {
      if (button) button.disabled = false;
    }
    for (const id of (form.dataset.refreshes ?? '').split(',').filter(Boolean)) {
      const section = document.getElementById(id);
      if (section) await refreshPanel(section);
    }
  } else if (form.dataset.fragment) {
    event.preventDefault();
    const target = document.getElementById(form.dataset.target);
    const query = new URLSearchParams(new FormData(form)).toString();
    try {
      const answer = await get(`${form.dataset.fragment}?${query}`, 'text/html');
      if (target) target.innerHTML = answer.body;
    } catch (error) {
      flash(`the console did not answer: ${error.message}`, 'error');
    }
  }
});

schedulePanels();
scheduleCharts();
markLive(true);
