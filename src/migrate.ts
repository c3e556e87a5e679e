import 'reflect-metadata';
import { ConfigError } from './config/config.error.js';
import { databaseConfig } from './config/database.config.js';
import { checkPostgres, databaseName, PreflightError } from './bootstrap/preflight.js';

/**
 * `npm run migration:run`: creates the database like `npm start` does, then applies the pending
 * migrations, one line per migration (no SQL log, no stack trace on a missing server).
 */
async function migrate(): Promise<void> {
  const database = databaseConfig();
  if (await checkPostgres(database.url))
    process.stdout.write(`quorum: database "${databaseName(database.url)}" created\n`);
  const { applyMigrations } = await import('./database/migrate.js');
  const outcome = await applyMigrations(database);
  for (const name of outcome.applied) process.stdout.write(`quorum: applied ${name}\n`);
  process.stdout.write(
    outcome.applied.length > 0
      ? `quorum: ${outcome.applied.length} migration${outcome.applied.length === 1 ? '' : 's'} applied\n`
      : `quorum: nothing to apply; the schema is up to date (${outcome.known} migrations)\n`,
  );
}

migrate().catch((error: unknown) => {
  const message =
    error instanceof ConfigError
      ? `invalid configuration: ${error.message}`
      : error instanceof PreflightError
        ? error.message
        : `migration failed: ${(error as Error)?.message ?? String(error)}`;
  process.stderr.write(`quorum: ${message}\n`);
  process.exit(1);
});
