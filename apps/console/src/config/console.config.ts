import { env, loadConfig } from '@pulse/platform';
import { z } from 'zod';

/** Every environment variable of the console service; see apps/console/.env.example. */
export const consoleConfigSchema = z.object({
  SERVICE_NAME: env.string('console'),
  LOG_LEVEL: env.logLevel(),
  /** HTTP for the service's routes, /health/live, /health/ready and /metrics (it serves no gRPC); port 0 picks a free port. */
  HTTP_PORT: env.port(8080),
});

export type ConsoleConfig = z.infer<typeof consoleConfigSchema>;

export const CONSOLE_CONFIG = Symbol('CONSOLE_CONFIG');

export function loadConsoleConfig(overrides: Record<string, string | undefined> = {}): ConsoleConfig {
  return loadConfig('console', consoleConfigSchema, { ...process.env, ...overrides });
}
