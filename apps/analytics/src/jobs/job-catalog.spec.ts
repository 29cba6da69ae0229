import { GrpcStatus, GrpcStatusError } from '@pulse/platform';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { parseCron } from '../schedules/cron';
import { JobCatalog, JOBS } from './job-catalog';
import { pymk } from './pymk.job';

describe('the jobs', () => {
  it('have unique names and outputs, and each reads bronze or what an earlier job writes', () => {
    const written = new Set<string>();
    for (const job of JOBS) {
      expect(job.name).toMatch(/^[a-z][a-z0-9_]*$/);
      for (const input of job.inputs) {
        if (!input.startsWith('bronze/')) expect([job.name, input, written.has(input)]).toEqual([job.name, input, true]);
      }
      expect(written.has(job.output.path)).toBe(false);
      expect(job.output.path.startsWith(`${job.layer}/`)).toBe(true);
      written.add(job.output.path);
    }
    expect(new Set(JOBS.map((j) => j.name)).size).toBe(JOBS.length);
  });

  it('have valid default schedules and parameter defaults', () => {
    const catalog = new JobCatalog();
    for (const job of JOBS) {
      if (job.schedule) expect(() => parseCron(job.schedule)).not.toThrow();
      expect(() => catalog.parameters(job, {})).not.toThrow();
    }
  });
});

describe('JobCatalog', () => {
  const catalog = new JobCatalog(
    JOBS,
    new Map([
      ['pagerank', '0 */6 * * *'],
      ['pymk', ''],
    ]),
  );

  it('applies schedule overrides and refuses one for an unknown job', () => {
    expect(catalog.schedule('pagerank')).toBe('0 */6 * * *');
    expect(catalog.schedule('pymk')).toBe('');
    expect(catalog.schedule('silver_activity')).toBe('5 * * * *');
    expect(() => new JobCatalog(JOBS, new Map([['nope', '* * * * *']]))).toThrow(/unknown job "nope"/);
  });

  it('fills in parameter defaults and takes valid overrides', () => {
    expect(catalog.parameters(catalog.get('pagerank'), { max_iterations: '5' })).toEqual({
      alpha: '0.85',
      max_iterations: '5',
      tolerance: '0.000001',
    });
  });

  it('refuses unknown parameters and bad values with the field named', () => {
    const check = (given: Record<string, string>) => {
      try {
        catalog.parameters(catalog.get('pagerank'), given);
        return 'accepted';
      } catch (error) {
        expect(error).toBeInstanceOf(GrpcStatusError);
        expect((error as GrpcStatusError).code).toBe(GrpcStatus.INVALID_ARGUMENT);
        return (error as GrpcStatusError).violations[0];
      }
    };
    expect(check({ iterations: '5' })).toEqual({
      field: 'parameters[iterations]',
      description: 'not a parameter of pagerank (it has alpha, max_iterations, tolerance)',
    });
    expect(check({ max_iterations: '0' })).toEqual({ field: 'parameters[max_iterations]', description: 'must be an integer in 1..500' });
    expect(check({ alpha: 'high' })).toEqual({ field: 'parameters[alpha]', description: 'must be a number in 0.01..0.99' });
    expect(() => catalog.get('nope')).toThrow(/job "nope" not found/);
  });
});

describe('the user_pymk feature view', () => {
  it('declares every feature the pymk job pushes, with the type of the value it pushes', () => {
    const repo = parse(readFileSync(join(__dirname, '../../../../feature_repo/pymk.yaml'), 'utf8')) as {
      feature_views: { name: string; entities: string[]; source: { type: string }; features: { name: string; type: string }[] }[];
    };
    const view = repo.feature_views.find((v) => v.name === pymk.export?.featureView);
    expect(view).toMatchObject({ entities: ['user'], source: { type: 'push' } });
    const pushed = pymk.export?.features({ candidates: ['2', '3'], scores: [2.5, 1], common: [2, 1] }) ?? {};
    const typeOf = (value: object) =>
      ({ stringListValue: 'string_list', doubleListValue: 'double_list', int64ListValue: 'int64_list' })[Object.keys(value)[0]];
    expect(Object.fromEntries(Object.entries(pushed).map(([name, value]) => [name, typeOf(value)]))).toEqual(
      Object.fromEntries((view?.features ?? []).map((f) => [f.name, f.type])),
    );
  });
});
