import type { DataSourceOptions } from 'typeorm';
import { MIGRATIONS } from '../../migrations/index.js';
import type { DatabaseConfig } from '#src/config/database.config.js';

/** Options shared by the app, the migration CLI and the test harness. */
export function dataSourceOptions(config: DatabaseConfig): DataSourceOptions {
  return {
    type: 'postgres',
    url: config.url,
    uuidExtension: 'pgcrypto',
    migrations: MIGRATIONS,
    migrationsTableName: 'migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    logging: config.logging ? ['query', 'error'] : ['error'],
    extra: { max: config.poolSize, connectionTimeoutMillis: 5_000 },
  };
}
