import { addProjectConfiguration, type Tree } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { templateContext } from './generator';

function workspaceWith(services: { name: string; grpcPort?: number; httpPort: number; order?: number }[]): Tree {
  const tree = createTreeWithEmptyWorkspace();
  for (const s of services) {
    addProjectConfiguration(tree, s.name, {
      root: `apps/${s.name}`,
      tags: [`scope:${s.name}`, 'type:app'],
      metadata: { pulse: { grpcPort: s.grpcPort, httpPort: s.httpPort, order: s.order } } as never,
      targets: { serve: { executor: 'nx:noop' } },
    });
  }
  return tree;
}

describe('service generator', () => {
  it('takes the next free ports and starts after the existing services', () => {
    const tree = workspaceWith([
      { name: 'ingest', grpcPort: 50051, httpPort: 8081, order: 10 },
      { name: 'recommender', grpcPort: 50056, httpPort: 8086, order: 60 },
    ]);
    const context = templateContext(tree, { name: 'feed-ranker', kafkaConsumer: true, postgres: true });
    expect(context).toMatchObject({ grpcPort: 50057, httpPort: 8087, order: 70, className: 'FeedRanker', constantName: 'FEED_RANKER' });
    expect(context).toMatchObject({
      domain: 'feed_ranker',
      protoPackage: 'pulse.feed_ranker.v1',
      contractsNamespace: 'feedRankerV1',
      store: 'postgres',
    });
  });

  it('keeps handled events in the first store chosen, in memory without one', () => {
    const tree = workspaceWith([]);
    expect(templateContext(tree, { name: 'a', cassandra: true, redis: true }).store).toBe('cassandra');
    expect(templateContext(tree, { name: 'b', redis: true }).store).toBe('redis');
    expect(templateContext(tree, { name: 'c' }).store).toBe('memory');
  });

  it('gives a service without gRPC an HTTP port only', () => {
    const tree = workspaceWith([
      { name: 'ingest', grpcPort: 50051, httpPort: 8081, order: 10 },
      { name: 'recommender', grpcPort: 50056, httpPort: 8086, order: 60 },
    ]);
    const context = templateContext(tree, { name: 'console', grpc: false });
    expect(context).toMatchObject({ grpc: false, grpcPort: undefined, httpPort: 8087 });
    expect(() => templateContext(tree, { name: 'x', grpc: false, grpcPort: 50070 })).toThrow(/HTTP only/);
    // Beside an HTTP-only service, the next gRPC service still takes the next gRPC port.
    const withConsole = workspaceWith([
      { name: 'ingest', grpcPort: 50051, httpPort: 8081, order: 10 },
      { name: 'console', httpPort: 8080, order: 20 },
    ]);
    expect(templateContext(withConsole, { name: 'feed' })).toMatchObject({ grpcPort: 50052, httpPort: 8082 });
  });

  it('refuses a name that is not kebab-case and a port another service has', () => {
    const tree = workspaceWith([{ name: 'ingest', grpcPort: 50051, httpPort: 8081 }]);
    expect(() => templateContext(tree, { name: 'Feed_Ranker' })).toThrow(/kebab-case/);
    expect(() => templateContext(tree, { name: 'x', grpcPort: 8081 })).toThrow(/port 8081 belongs to another service/);
  });
});
