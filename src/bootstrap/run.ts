import type { INestApplicationContext } from '@nestjs/common';
import { ConfigError } from '#src/config/config.error.js';
import { databaseConfig } from '#src/config/database.config.js';
import { validateAllConfig } from '#src/config/namespaces.js';
import { redisConfig } from '#src/config/redis.config.js';
import { appConfig } from '#src/config/app.config.js';
import { PreflightError, checkPostgres, checkRedis } from './preflight.js';

/** Failing start-up prints one line (no stack-trace wall) and exits non-zero. */
function die(message: string): never {
  process.stderr.write(`quorum: ${message}\n`);
  process.exit(1);
}

/** Validates configuration and reaches PostgreSQL and Redis before Nest starts. */
export async function preflight(): Promise<void> {
  try {
    validateAllConfig();
    await Promise.all([checkPostgres(databaseConfig().url), checkRedis(redisConfig().url)]);
  } catch (error) {
    if (error instanceof ConfigError) die(`invalid configuration: ${error.message}`);
    if (error instanceof PreflightError) die(error.message);
    throw error;
  }
}

/**
 * SIGTERM/SIGINT: stop taking work, let in-flight requests and jobs finish, close queues and the
 * database; a shutdown that outlives SHUTDOWN_TIMEOUT_MS is cut short with exit code 1.
 */
export function closeOnSignals(app: INestApplicationContext, log: (message: string) => void): void {
  let closing = false;
  const close = (signal: NodeJS.Signals) => {
    if (closing) return;
    closing = true;
    log(`${signal} received: shutting down`);
    const timer = setTimeout(() => {
      process.stderr.write('quorum: shutdown timed out; exiting\n');
      process.exit(1);
    }, appConfig().shutdownTimeoutMs);
    timer.unref();
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`quorum: shutdown failed: ${(error as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', close);
  process.once('SIGINT', close);
}

export function dieOnStartupError(error: unknown): never {
  die(`start-up failed: ${(error as Error)?.message ?? String(error)}`);
}
