import { Inject, Injectable } from '@nestjs/common';
import { millisToDuration, privacyV1, toTimestamp } from '@pulse/contracts';
import { grpcErrors, subjectHash } from '@pulse/platform';
import { PRIVACY_CONFIG, type PrivacyConfig } from '../config/privacy.config';
import { ErasureJobsRepository } from './erasure-jobs.pg.repository';
import { type JobRecord, STORES } from './erasure.model';
import { ErasureRunnerService } from './erasure-runner.service';

const USER_ID = /^[A-Za-z0-9_-]{1,64}$/;
const { ErasureBasis, ErasureState, StoreState } = privacyV1;

/** EraseUser, GetErasure, ListErasures: requests checked, jobs created or found, mapped to the proto. */
@Injectable()
export class ErasureService {
  constructor(
    private readonly jobs: ErasureJobsRepository,
    private readonly runner: ErasureRunnerService,
    @Inject(PRIVACY_CONFIG) private readonly config: PrivacyConfig,
  ) {}

  async erase(request: privacyV1.EraseUserRequest): Promise<privacyV1.EraseUserResponse> {
    const userId = request.userId ?? '';
    if (!userId) throw grpcErrors.invalidArgument('user_id', 'is required');
    if (!USER_ID.test(userId)) throw grpcErrors.invalidArgument('user_id', 'must be 1..64 characters of [A-Za-z0-9_-]');
    const basis = ErasureBasis[request.basis ?? 0] ?? ErasureBasis[ErasureBasis.ERASURE_BASIS_UNSPECIFIED];
    const { job, created } = await this.jobs.create(subjectHash(this.config.PRIVACY_SUBJECT_KEY, userId), userId, basis, STORES);
    if (created) this.runner.wake();
    return { erasure: toErasure(job), created };
  }

  async get(request: privacyV1.GetErasureRequest): Promise<privacyV1.GetErasureResponse> {
    const jobId = request.jobId ?? '';
    if (!/^[0-9a-f-]{36}$/.test(jobId)) throw grpcErrors.invalidArgument('job_id', 'must be a job id returned by EraseUser');
    const job = await this.jobs.get(jobId);
    if (!job) throw grpcErrors.notFound(`erasure "${jobId}"`);
    return { erasure: toErasure(job) };
  }

  async list(request: privacyV1.ListErasuresRequest): Promise<privacyV1.ListErasuresResponse> {
    const size = request.pageSize || 50;
    if (size < 1 || size > 500) throw grpcErrors.invalidArgument('page_size', 'must be 0 or 1..500');
    const after = request.pageToken ? decodeToken(request.pageToken) : undefined;
    const jobs = await this.jobs.list(size + 1, after);
    const page = jobs.slice(0, size);
    const last = page[page.length - 1];
    return {
      erasures: page.map(toErasure),
      nextPageToken: jobs.length > size && last ? encodeToken(last) : '',
    };
  }
}

function encodeToken(job: JobRecord): string {
  return Buffer.from(JSON.stringify([job.requestedAt.toISOString(), job.jobId])).toString('base64url');
}

function decodeToken(token: string): { requestedAt: Date; jobId: string } {
  try {
    const [at, jobId] = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as [string, string];
    const requestedAt = new Date(at);
    if (Number.isNaN(requestedAt.getTime()) || typeof jobId !== 'string') throw new Error('malformed');
    return { requestedAt, jobId };
  } catch {
    throw grpcErrors.invalidArgument('page_token', 'is not a token of ListErasures');
  }
}

/** A job as the proto shows it: no user id, only the subject hash. */
export function toErasure(job: JobRecord): privacyV1.Erasure {
  return {
    jobId: job.jobId,
    subjectHash: job.subjectHash,
    state: ErasureState[`ERASURE_STATE_${job.state}` as keyof typeof ErasureState],
    basis: ErasureBasis[job.basis as keyof typeof ErasureBasis] ?? ErasureBasis.ERASURE_BASIS_UNSPECIFIED,
    stores: job.steps.map((s) => ({
      store: s.store,
      state: StoreState[`STORE_STATE_${s.state}` as keyof typeof StoreState],
      erased: s.erased,
      foundOnVerify: s.foundOnVerify,
      startedAt: toTimestamp(s.startedAt),
      finishedAt: toTimestamp(s.finishedAt),
      busy: millisToDuration(s.busyMs),
    })),
    requestedAt: toTimestamp(job.requestedAt),
    startedAt: toTimestamp(job.startedAt),
    finishedAt: toTimestamp(job.finishedAt),
    passes: Math.max(0, job.state === 'COMPLETED' ? job.pass : job.pass - 1),
    attempts: job.attempts,
    lastError: job.lastError,
    erasedAt: toTimestamp(job.erasedAt),
  };
}
