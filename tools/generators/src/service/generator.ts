import { formatFiles, generateFiles, getProjects, type GeneratorCallback, names, type Tree } from '@nx/devkit';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

export interface ServiceGeneratorOptions {
  name: string;
  description?: string;
  grpc?: boolean;
  kafkaConsumer?: boolean;
  postgres?: boolean;
  cassandra?: boolean;
  redis?: boolean;
  domain?: string;
  grpcPort?: number;
  httpPort?: number;
  skipFormat?: boolean;
}

/** What the templates see. */
export interface ServiceTemplateContext {
  name: string;
  description: string;
  /** `DemoFeed` */
  className: string;
  /** `demoFeed` */
  propertyName: string;
  /** `DEMO_FEED` (config prefix) */
  constantName: string;
  /** `demo_feed` (proto package segment, PostgreSQL schema, Cassandra keyspace) */
  domain: string;
  protoPackage: string;
  /** Namespace of the generated types in @pulse/contracts, e.g. `demoFeedV1` */
  contractsNamespace: string;
  /** Absent for a service that serves HTTP only (`--no-grpc`). */
  grpcPort: number | undefined;
  httpPort: number;
  grpc: boolean;
  kafkaConsumer: boolean;
  postgres: boolean;
  cassandra: boolean;
  redis: boolean;
  /** Which store keeps the handled events: `postgres`, `cassandra`, `redis` or `memory` (the first chosen). */
  store: 'postgres' | 'cassandra' | 'redis' | 'memory';
  /** Start order in `./pulse up`: after the existing services. */
  order: number;
  tmpl: string;
}

const NAME = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
/** The templates, from the workspace root (the plugin may be loaded as an ES module, without __dirname). */
const FILES = 'tools/generators/src/service/files';

/**
 * `nx g @pulse/tools:service <name> [--grpc] [--kafka-consumer] [--postgres|--cassandra|--redis]`: a new service
 * shaped like the others — proto package with one RPC (or, with `--no-grpc`, an HTTP route and no gRPC server), config schema, app on the platform's bootstrap, a slice
 * (controller, service, repository port and adapter, Kafka consumer), unit and integration specs, `.env.example`,
 * Helm values, an entry in the service list (metadata.pulse of its project.json, which `./pulse`, the image
 * scripts, the chart checks and lint read) and a README. After the files are written (not in a dry run) the
 * platform chart's values are synced and the contracts' TypeScript is regenerated.
 */
export async function serviceGenerator(tree: Tree, options: ServiceGeneratorOptions): Promise<GeneratorCallback> {
  const context = templateContext(tree, options);
  const appRoot = `apps/${context.name}`;
  if (tree.exists(appRoot)) throw new Error(`${appRoot} exists already`);

  generateFiles(tree, join(tree.root, FILES, 'app'), appRoot, context);
  if (context.grpc) {
    generateFiles(tree, join(tree.root, FILES, 'grpc'), appRoot, context);
    generateFiles(tree, join(tree.root, FILES, 'proto'), `proto/pulse/${context.domain}/v1`, context);
    addContractsExport(tree, context);
  } else {
    generateFiles(tree, join(tree.root, FILES, 'http'), appRoot, context);
  }
  if (context.kafkaConsumer) generateFiles(tree, join(tree.root, FILES, 'kafka'), appRoot, context);
  if (context.store !== 'memory') generateFiles(tree, join(tree.root, FILES, context.store), appRoot, context);
  if (context.postgres || context.cassandra) generateFiles(tree, join(tree.root, FILES, 'migrate'), appRoot, context);
  generateFiles(tree, join(tree.root, FILES, 'helm'), 'deploy/helm/values', context);

  if (!options.skipFormat) await formatFiles(tree);
  return () => {
    // The apps' copy of the list (default peer addresses) and the umbrella chart's values follow the list, which now has this one.
    execFileSync('node', ['tools/services/services.mjs', 'write'], { cwd: tree.root, stdio: 'inherit' });
    execFileSync('bash', ['tools/deploy/sync-platform-values.sh'], { cwd: tree.root, stdio: 'inherit' });
    // The TypeScript of the new proto package (ts-proto) and the descriptor set served by reflection.
    if (context.grpc)
      execFileSync('npx', ['nx', 'run', 'contracts:generate', '--skip-nx-cache', '--output-style=static'], {
        cwd: tree.root,
        stdio: 'inherit',
      });
  };
}

export default serviceGenerator;

export function templateContext(tree: Tree, options: ServiceGeneratorOptions): ServiceTemplateContext {
  if (!NAME.test(options.name))
    throw new Error(`service name "${options.name}" must be kebab-case: lowercase letters and digits, words joined by -`);
  const existing = [...getProjects(tree).values()]
    .map((p) => (p.metadata as { pulse?: { grpcPort?: number; httpPort: number; order?: number } } | undefined)?.pulse)
    .filter((p): p is { grpcPort?: number; httpPort: number; order?: number } => p !== undefined);
  const n = names(options.name);
  const domain = options.domain ?? options.name.replace(/-/g, '_');
  if (!/^[a-z][a-z0-9_]*$/.test(domain)) throw new Error(`proto domain "${domain}" must be lower_snake`);
  const grpc = options.grpc ?? true;
  if (!grpc && options.grpcPort !== undefined) throw new Error('--grpc-port is for a gRPC service; this one serves HTTP only (--no-grpc)');
  const grpcPorts = existing.flatMap((p) => (p.grpcPort === undefined ? [] : [p.grpcPort]));
  const grpcPort = grpc ? (options.grpcPort ?? Math.max(50050, ...grpcPorts) + 1) : undefined;
  const httpPort = options.httpPort ?? Math.max(8080, ...existing.map((p) => p.httpPort)) + 1;
  const taken = [...grpcPorts, ...existing.map((p) => p.httpPort)];
  for (const port of [grpcPort, httpPort]) {
    if (port !== undefined && taken.includes(port)) throw new Error(`port ${port} belongs to another service`);
  }
  const stores = (['postgres', 'cassandra', 'redis'] as const).filter((s) => options[s]);
  return {
    name: options.name,
    description: options.description || `${n.className}: what it does in one line.`,
    className: n.className,
    propertyName: n.propertyName,
    constantName: n.constantName,
    domain,
    protoPackage: `pulse.${domain}.v1`,
    contractsNamespace: `${names(domain).propertyName}V1`,
    grpcPort,
    httpPort,
    grpc,
    kafkaConsumer: options.kafkaConsumer ?? false,
    postgres: options.postgres ?? false,
    cassandra: options.cassandra ?? false,
    redis: options.redis ?? false,
    store: stores[0] ?? 'memory',
    order: Math.max(0, ...existing.map((p) => p.order ?? 100)) + 10,
    tmpl: '',
  };
}

/** `export * as demoV1 from './gen/pulse/demo/v1';` in the contracts barrel, beside the other packages. */
function addContractsExport(tree: Tree, context: ServiceTemplateContext): void {
  const path = 'libs/contracts/src/index.ts';
  const text = tree.read(path, 'utf8') ?? '';
  const line = `export * as ${context.contractsNamespace} from './gen/pulse/${context.domain}/v1';`;
  if (text.includes(line)) return;
  const anchor = "export * as healthV1 from './gen/grpc/health/v1';";
  tree.write(path, text.includes(anchor) ? text.replace(anchor, `${line}\n${anchor}`) : `${text.trimEnd()}\n${line}\n`);
}
