#!/usr/bin/env node
// The one list of Pulse's services, derived from Nx project configuration: every project under apps/ tagged
// `type:app` with a `serve` target is a service. Its `metadata.pulse` block in project.json says the rest:
//
//   "metadata": { "pulse": { "grpcPort": 50051, "httpPort": 8081, "releases": ["ingest"], "order": 10 } }
//
//   grpcPort, httpPort  the ports `./pulse up` serves it on (also the defaults of its config and Helm values)
//   releases            Helm releases of the app, one values file each: deploy/helm/values/<release>.yaml
//                       (default: [name]); etl runs as two releases (bronze streams, and the aggregates)
//   order               start order in `./pulse up` (lower first; default 100)
//   up                  false keeps it out of `./pulse up` (default true)
// Migrations: a `migrate` target. Image: every service (deploy/images/Containerfile, APP=<name>).
//
// Every script, check and config that needs the list reads it here (`./pulse`, tools/images, tools/deploy,
// eslint.config.mjs); the service generator (tools/generators) writes the block for a new app.
//
//   node tools/services/services.mjs names        service names, start order, one line
//   node tools/services/services.mjs up           the ones `./pulse up` serves
//   node tools/services/services.mjs migrate      the ones with a migrate target
//   node tools/services/services.mjs releases     every Helm release (values file), one line
//   node tools/services/services.mjs ports        `name grpcPort httpPort` per line
//   node tools/services/services.mjs json         everything, as JSON
//   node tools/services/services.mjs check        exit 1 when a service's files disagree with its block
// `--without a,b` leaves those services out of names, up, migrate, releases and ports (`./pulse up --no-sim`).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const workspaceRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * @typedef {{ name: string, root: string, scope: string, grpcPort: number, httpPort: number, releases: string[],
 *   order: number, up: boolean, migrate: boolean }} PulseService
 */

/** @returns {PulseService[]} every service of the workspace, in start order */
export function listServices(root = workspaceRoot) {
  const apps = join(root, 'apps');
  const found = [];
  for (const dir of readdirSync(apps).sort()) {
    const file = join(apps, dir, 'project.json');
    if (!existsSync(file)) continue;
    const project = JSON.parse(readFileSync(file, 'utf8'));
    const tags = project.tags ?? [];
    const targets = project.targets ?? {};
    if (!tags.includes('type:app') || !targets.serve) continue;
    const meta = project.metadata?.pulse;
    if (!meta) throw new Error(`apps/${dir}/project.json: a type:app project with a serve target needs metadata.pulse (ports, releases)`);
    const name = project.name ?? dir;
    for (const key of ['grpcPort', 'httpPort']) {
      if (!Number.isInteger(meta[key]) || meta[key] < 1 || meta[key] > 65535)
        throw new Error(`apps/${dir}/project.json: metadata.pulse.${key} must be a port number`);
    }
    found.push({
      name,
      root: `apps/${dir}`,
      scope: (tags.find((t) => t.startsWith('scope:')) ?? `scope:${name}`).slice('scope:'.length),
      grpcPort: meta.grpcPort,
      httpPort: meta.httpPort,
      releases: meta.releases ?? [name],
      order: meta.order ?? 100,
      up: meta.up ?? true,
      migrate: Boolean(targets.migrate),
    });
  }
  return found.sort((a, b) => a.order - b.order || a.name.localeCompare(b.name));
}

/** Problems between each service's block and its files (Helm values, .env.example); empty when all agree. */
export function checkServices(root = workspaceRoot) {
  const problems = [];
  const services = listServices(root);
  const seen = new Map();
  for (const s of services) {
    for (const port of [s.grpcPort, s.httpPort]) {
      if (seen.has(port)) problems.push(`${s.name}: port ${port} is also ${seen.get(port)}'s`);
      seen.set(port, s.name);
    }
    const env = join(root, s.root, '.env.example');
    if (!existsSync(env)) problems.push(`${s.name}: ${s.root}/.env.example is missing`);
    else {
      const text = readFileSync(env, 'utf8');
      for (const [key, want] of [
        ['GRPC_PORT', s.grpcPort],
        ['HTTP_PORT', s.httpPort],
      ]) {
        const got = text.match(new RegExp(`^${key}=(\\d+)`, 'm'))?.[1];
        if (Number(got) !== want)
          problems.push(`${s.name}: ${s.root}/.env.example has ${key}=${got ?? '(none)'}, metadata.pulse says ${want}`);
      }
    }
    for (const release of s.releases) {
      const values = join(root, 'deploy/helm/values', `${release}.yaml`);
      if (!existsSync(values)) {
        problems.push(`${s.name}: deploy/helm/values/${release}.yaml is missing`);
        continue;
      }
      const text = readFileSync(values, 'utf8');
      const block = text.match(/^containerPorts:\n((?: {2}.*\n)+)/m)?.[1] ?? '';
      for (const [key, want] of [
        ['grpc', s.grpcPort],
        ['http', s.httpPort],
      ]) {
        const got = block.match(new RegExp(`^ {2}${key}: *(\\d+)`, 'm'))?.[1];
        if (Number(got) !== want)
          problems.push(
            `${s.name}: deploy/helm/values/${release}.yaml has containerPorts.${key}=${got ?? '(none)'}, metadata.pulse says ${want}`,
          );
      }
    }
  }
  const releases = new Set(services.flatMap((s) => s.releases));
  for (const file of readdirSync(join(root, 'deploy/helm/values'))) {
    const release = file.replace(/\.yaml$/, '');
    if (file.endsWith('.yaml') && !releases.has(release))
      problems.push(`deploy/helm/values/${file} belongs to no service (add it to releases of one)`);
  }
  return problems;
}

/** The names given to `--without` (`--without a,b` or `--without=a,b`), checked against the list. */
function withoutArgument(args, services) {
  const names = args.flatMap((arg, i) =>
    arg.startsWith('--without=') ? arg.slice('--without='.length).split(',') : args[i - 1] === '--without' ? arg.split(',') : [],
  );
  const unknown = names.filter((n) => !services.some((s) => s.name === n));
  if (unknown.length > 0) throw new Error(`--without: no service named ${unknown.join(', ')}`);
  return new Set(names);
}

function main(command, args) {
  const all = listServices();
  let without;
  try {
    without = withoutArgument(args, all);
  } catch (error) {
    console.error(`services: ${error.message}`);
    process.exitCode = 2;
    return;
  }
  const services = all.filter((s) => !without.has(s.name));
  switch (command) {
    case 'names':
      return console.log(services.map((s) => s.name).join(' '));
    case 'up':
      return console.log(
        services
          .filter((s) => s.up)
          .map((s) => s.name)
          .join(' '),
      );
    case 'migrate':
      return console.log(
        services
          .filter((s) => s.migrate)
          .map((s) => s.name)
          .join(' '),
      );
    case 'releases':
      return console.log(services.flatMap((s) => s.releases).join(' '));
    case 'ports':
      return console.log(services.map((s) => `${s.name} ${s.grpcPort} ${s.httpPort}`).join('\n'));
    case 'json':
      return console.log(JSON.stringify(services, null, 2));
    case 'check': {
      const problems = checkServices();
      for (const p of problems) console.error(`services: ${p}`);
      console.log(`services: ${all.length} services, ${all.flatMap((s) => s.releases).length} releases, ${problems.length} problems`);
      process.exitCode = problems.length ? 1 : 0;
      return;
    }
    default:
      console.error('usage: services.mjs names|up|migrate|releases|ports|json|check [--without name,...]');
      process.exitCode = 2;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main(process.argv[2], process.argv.slice(3));
