#!/usr/bin/env node
// Writes the parts of the platform chart (deploy/helm/platform) that follow from the service list
// (tools/services/services.mjs), so a new service touches none of them by hand:
//   - Chart.yaml: one dependency on ../service per Helm release, aliased and conditioned on `<release>.enabled`
//   - values.schema.json: each release a required key of the values
//   - values.yaml: the `## @param` lines of the releases, and each release's values embedded below the marker line
//     from deploy/helm/values/<release>.yaml (comments kept); the part above (global values, docs) is kept as written
//   - README.md: the parameters table (tools/deploy/values-doc.py) when values.yaml changed
//
//   node tools/deploy/sync-platform.mjs          rewrite them
//   node tools/deploy/sync-platform.mjs --check  exit 1 when one is not what the service list makes of it
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { listServices, workspaceRoot } from '../services/services.mjs';

const platform = join(workspaceRoot, 'deploy/helm/platform');
const MARKER = '# ---- Below: generated from deploy/helm/values/<service>.yaml by tools/deploy/sync-platform-values.sh; edit those files. ----';
const PARAMS_BEGIN = '## @section Services';
const releases = listServices().flatMap((s) => s.releases.map((release) => ({ release, service: s })));

/** The first sentence of a release's values file header (`# <release>: what it is. ...`), for its @param line. */
function summaryOf(release) {
  const header = [];
  for (const line of readFileSync(join(workspaceRoot, 'deploy/helm/values', `${release}.yaml`), 'utf8').split('\n')) {
    if (!line.startsWith('#')) break;
    header.push(line.replace(/^#\s*/, ''));
  }
  const text = header.join(' ').split('Values of the generic chart')[0].replace(new RegExp(`^${release}:\\s*`), '').trim();
  const sentence = text.split(/(?<=\.)\s/)[0] ?? '';
  return sentence.replace(/\.$/, '') || release;
}

function chartYaml(text) {
  const start = text.indexOf('dependencies:\n');
  const end = text.indexOf('\nannotations:');
  if (start < 0 || end < 0) throw new Error('platform/Chart.yaml: expected a dependencies: block followed by annotations:');
  const deps = releases
    .map(({ release }) => `  - name: service\n    alias: ${release}\n    version: 0.1.0\n    repository: file://../service\n    condition: ${release}.enabled`)
    .join('\n');
  return `${text.slice(0, start)}dependencies:\n${deps}${text.slice(end)}`;
}

function schemaJson(text) {
  const schema = JSON.parse(text);
  const properties = { global: schema.properties.global };
  for (const { release } of releases) {
    properties[release] = {
      type: 'object',
      description: `values of the service chart for ${release} (validated by its schema), plus enabled`,
      properties: { enabled: { type: 'boolean' } },
      required: ['enabled'],
    };
  }
  return `${JSON.stringify({ ...schema, required: ['global', ...releases.map((r) => r.release)], properties }, null, 2)}\n`;
}

function valuesYaml(text) {
  const begin = text.indexOf(PARAMS_BEGIN);
  if (begin < 0) throw new Error(`platform/values.yaml: expected a line "${PARAMS_BEGIN}"`);
  let out = `${text.slice(0, begin)}${PARAMS_BEGIN}\n`;
  out += '## Each takes every value of the service chart (deploy/helm/service/README.md); defaults below are embedded from\n';
  out += '## deploy/helm/values/<service>.yaml.\n';
  for (const { release, service } of releases) {
    const what = summaryOf(release);
    out += `## @param ${release} Values of the service chart for ${release}: ${what} (${service.name} image; ${service.grpcPort === null ? `HTTP ${service.httpPort} only` : `gRPC ${service.grpcPort}, HTTP ${service.httpPort}`})\n`;
    out += `## @param ${release}.enabled Installs ${release}\n`;
  }
  out += `${MARKER}\n`;
  for (const { release } of releases) {
    const values = readFileSync(join(workspaceRoot, 'deploy/helm/values', `${release}.yaml`), 'utf8');
    out += `\n${release}:\n  enabled: true\n${values.replace(/^(.)/gm, '  $1')}`;
  }
  return out.endsWith('\n') ? out : `${out}\n`;
}

const files = [
  ['Chart.yaml', chartYaml],
  ['values.schema.json', schemaJson],
  ['values.yaml', valuesYaml],
];
const check = process.argv[2] === '--check';
let stale = 0;
for (const [file, render] of files) {
  const path = join(platform, file);
  const before = readFileSync(path, 'utf8');
  const after = render(before);
  if (before === after) continue;
  if (check) {
    stale++;
    console.error(`sync-platform: deploy/helm/platform/${file} is not what the service list makes of it: run tools/deploy/sync-platform-values.sh`);
  } else {
    writeFileSync(path, after);
    console.log(`sync-platform: wrote deploy/helm/platform/${file}`);
    if (file === 'values.yaml') execFileSync('python3', [join(workspaceRoot, 'tools/deploy/values-doc.py'), platform], { stdio: 'inherit' });
  }
}
process.exitCode = stale ? 1 : 0;
