import { DataSource } from 'typeorm';
import type { DatabaseConfig } from '#src/config/database.config.js';
import { dataSourceOptions } from './data-source-options.js';

/** pg_advisory_lock key: one process at a time applies migrations (API and workers start together). */
const MIGRATION_LOCK = 1_763_825_001;

export interface MigrationOutcome {
  /** Names of the migrations this call applied, in order. */
  applied: string[];
  /** How many migrations the code knows. */
  known: number;
}

/**
 * Applies the pending migrations, without TypeORM's SQL log, while holding an advisory lock so that
 * processes starting at once take turns (the second finds nothing left to do).
 */
export async function applyMigrations(config: DatabaseConfig): Promise<MigrationOutcome> {
  const options = dataSourceOptions(config);
  // Two connections: the advisory lock's and the one the migrations run on.
  const extra = { ...(options.extra as Record<string, unknown>), max: 2 };
  const dataSource = new DataSource({ ...options, logging: false, extra });
  await dataSource.initialize();
  try {
    const lock = dataSource.createQueryRunner();
    await lock.connect();
    try {
      await lock.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
      const applied = await dataSource.runMigrations({ transaction: 'each' });
      return { applied: applied.map((migration) => migration.name), known: dataSource.migrations.length };
    } finally {
      await lock.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
      await lock.release();
    }
  } finally {
    await dataSource.destroy();
  }
}
