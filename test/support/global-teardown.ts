import { Redis } from 'ioredis';
import pg from 'pg';
import { ADMIN_DATABASE_URL, TEST_REDIS_URL, databasePrefix, redisPrefixBase } from './test-env';

// Loaded by jest as CommonJS (global hooks are not run as ESM), so it imports nothing from src/.
const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** Drops every database and Redis key this run made. */
export default async function globalTeardown(): Promise<void> {
  const admin = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
  await admin.connect();
  const { rows } = await admin.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname LIKE $1', [
    `${databasePrefix()}%`,
  ]);
  for (const { datname } of rows) await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(datname)} WITH (FORCE)`);
  await admin.end();

  const redis = new Redis(TEST_REDIS_URL);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${redisPrefixBase()}*`, 'COUNT', 1000);
    if (keys.length) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
  await redis.quit();
}
