import type { INestApplicationContext } from '@nestjs/common';
import { ConfigError } from '#src/config/config.error.js';
import { databaseConfig } from '#src/config/database.config.js';
import { validateAllConfig } from '#src/config/namespaces.js';
import { redisConfig } from '#src/config/redis.config.js';
import { appConfig } from '#src/config/app.config.js';
import { generatedSecretsFile } from '#src/config/secrets.config.js';
import { PreflightError, checkPortFree, checkPostgres, checkRedis, databaseName } from './preflight.js';

/** Failing start-up prints one line (no stack-trace wall) and exits non-zero. */
function die(message: string): never {
  process.stderr.write(`quorum: ${message}\n`);
  process.exit(1);
}

/** A start-up step done: one line on stderr, like the build's. */
export function progress(message: string): void {
  process.stderr.write(`quorum: ${message}\n`);
}

/**
 * Validates configuration, reaches PostgreSQL and Redis, creates the database if missing and
 * applies the migrations before Nest starts, saying so line by line; the API's port is checked
 * free first, so a taken port stops start-up before anything claims to have started.
 */
export async function preflight(options: { api?: boolean } = {}): Promise<void> {
  try {
    validateAllConfig();
    const database = databaseConfig();
    const [created] = await Promise.all([
      checkPostgres(database.url),
      checkRedis(redisConfig().url),
      options.api ? checkPortFree(appConfig().port, appConfig().host) : undefined,
    ]);
    // Said once the servers answered, so that a missing server stays a one-line failure.
    const secrets = generatedSecretsFile();
    if (secrets) progress(`development secrets generated in ${secrets}`);
    if (created) progress(`database "${databaseName(database.url)}" created`);
    if (database.migrationsRun) {
      const { applyMigrations } = await import('#src/database/migrate.js');
      const outcome = await applyMigrations(database).catch((error: unknown) => {
        throw new PreflightError(`applying the migrations failed: ${(error as Error).message}`);
      });
      progress(
        outcome.applied.length > 0
          ? `${outcome.applied.length} migration${outcome.applied.length === 1 ? '' : 's'} applied`
          : `database schema up to date (${outcome.known} migrations)`,
      );
    }
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
