import { LoggerService } from '@nestjs/common';
import pino, { type DestinationStream, Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * What the platform's telemetry adds to a logger (see telemetry/telemetry.ts): fields mixed into every line (the
 * active trace and span ids), and a destination that writes each line to stdout and keeps a copy to ship.
 */
export interface LoggerHooks {
  mixin?: () => Record<string, unknown>;
  destination?: DestinationStream;
}

/** Structured JSON logs on stdout, one line per record, with the service name on each. */
export function createLogger(service: string, level = 'info', hooks: LoggerHooks = {}): Logger {
  return pino(
    {
      name: service,
      level,
      base: { service },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      mixin: hooks.mixin,
    },
    hooks.destination,
  );
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
