import pg from 'pg';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from '../../src/database/data-source-options.js';
import { quoteIdent } from '../../src/database/ensure-database.js';
import { ADMIN_DATABASE_URL, databasePrefix, databaseUrl, templateDatabaseName, uniqueSuffix } from './test-env.js';

async function withAdmin<T>(work: (admin: pg.Client) => Promise<T>): Promise<T> {
  const admin = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
  await admin.connect();
  try {
    return await work(admin);
  } finally {
    await admin.end();
  }
}

/** The run's template database with every migration applied; made once, under an advisory lock. */
async function ensureTemplate(admin: pg.Client): Promise<string> {
  const name = templateDatabaseName();
  await admin.query('SELECT pg_advisory_lock(hashtext($1))', [name]);
  try {
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!exists.rowCount) {
      await admin.query(`CREATE DATABASE ${quoteIdent(`${name}_build`)}`);
      const dataSource = new DataSource(
        dataSourceOptions({ url: databaseUrl(`${name}_build`), poolSize: 1, logging: false, migrationsRun: false }),
      );
      await dataSource.initialize();
      await dataSource.runMigrations();
      await dataSource.destroy();
      // Renamed only once complete, so a crashed build never passes for a template.
      await admin.query(`ALTER DATABASE ${quoteIdent(`${name}_build`)} RENAME TO ${quoteIdent(name)}`);
    }
  } finally {
    await admin.query('SELECT pg_advisory_unlock(hashtext($1))', [name]);
  }
  return name;
}

/** A fresh migrated database for one test file, copied from the run's template (tens of milliseconds). */
export async function createTestDatabase(): Promise<{ name: string; url: string }> {
  const name = `${databasePrefix()}${uniqueSuffix()}`;
  await withAdmin(async (admin) => {
    const template = await ensureTemplate(admin);
    // The template may not have another session open while it is copied; retry briefly if it does.
    for (let attempt = 0; ; attempt++) {
      try {
        await admin.query(`CREATE DATABASE ${quoteIdent(name)} TEMPLATE ${quoteIdent(template)}`);
        return;
      } catch (error) {
        if ((error as { code?: string }).code !== '55006' || attempt > 50) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  });
  return { name, url: databaseUrl(name) };
}

export async function dropTestDatabase(name: string): Promise<void> {
  await withAdmin((admin) => admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`));
}
