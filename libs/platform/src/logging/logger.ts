import { LoggerService } from '@nestjs/common';
import pino, { type DestinationStream, Logger } from 'pino';
import { REDACT_PATHS, REDACTED, scrubDeep, scrubSecrets } from './redact';

export type { Logger } from 'pino';

/**
 * Structured JSON logs on stdout (or `destination`), one line per record, with the service name on each.
 * Credentials, tokens, authorization metadata and passwords never reach a line: secret fields are redacted by
 * path, and every text (the message, string fields, an error's message and stack) is scrubbed of URL
 * passwords, bearer tokens, API keys and JWTs.
 */
export function createLogger(service: string, level = 'info', destination?: DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    name: service,
    level,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
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
  return destination ? pino(options, destination) : pino(options);
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
