import { LoggerService } from '@nestjs/common';
import pino, { type DestinationStream, Logger } from 'pino';
import { REDACT_PATHS, REDACTED, scrubDeep, scrubSecrets } from './redact';

export type { Logger } from 'pino';

/**
 * What the platform's telemetry adds to a logger (see telemetry/telemetry.ts): fields mixed into every line (the
 * active trace and span ids), and a destination that writes each line to stdout and keeps a copy to ship.
 */
export interface LoggerHooks {
  mixin?: () => Record<string, unknown>;
  destination?: DestinationStream;
}

/**
 * Structured JSON logs on stdout (or `hooks.destination`), one line per record, with the service name on each.
 * Credentials, tokens, authorization metadata and passwords never reach a line (nor a shipped copy): secret fields
 * are redacted by path, and every text (the message, string fields, an error's message and stack) is scrubbed of
 * URL passwords, bearer tokens, API keys and JWTs.
 */
export function createLogger(service: string, level = 'info', hooks: LoggerHooks = {}): Logger {
  const options: pino.LoggerOptions = {
    name: service,
    level,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    mixin: hooks.mixin,
    redact: { paths: REDACT_PATHS, censor: REDACTED },
    hooks: {
      logMethod(args, method) {
        method.apply(this, args.map((a) => (typeof a === 'string' ? scrubSecrets(a) : a)) as Parameters<typeof method>);
      },
    },
    serializers: {
      err: (error: Error) => scrubDeep({ ...pino.stdSerializers.err(error) }),
    },
    formatters: {
      level: (label) => ({ level: label }),
      log: (object) => scrubDeep(object),
    },
  };
  return hooks.destination ? pino(options, hooks.destination) : pino(options);
}

/** Nest's LoggerService over pino, so framework logs are JSON lines too. */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}

  log(message: unknown, context?: string) {
    this.logger.info({ context }, String(message));
  }
  error(message: unknown, trace?: string, context?: string) {
    this.logger.error({ context, trace }, String(message));
  }
  warn(message: unknown, context?: string) {
    this.logger.warn({ context }, String(message));
  }
  debug(message: unknown, context?: string) {
    this.logger.debug({ context }, String(message));
  }
  verbose(message: unknown, context?: string) {
    this.logger.trace({ context }, String(message));
  }
  fatal(message: unknown, context?: string) {
    this.logger.fatal({ context }, String(message));
  }
}
