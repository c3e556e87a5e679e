import { Redis } from 'ioredis';
import pg from 'pg';

// Jest loads global hooks as CommonJS, outside its ESM runtime, so this file imports nothing of
// ours; the names match test-env.ts.
const ADMIN_DATABASE_URL = process.env.TEST_ADMIN_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** Drops every database and Redis key this run made. */
export default async function globalTeardown(): Promise<void> {
  const runId = process.env.QUORUM_TEST_RUN_ID;
  if (!runId) return;
  const admin = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
  await admin.connect();
  const { rows } = await admin.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname LIKE $1', [
    `quorum_t_${runId}_%`,
  ]);
  for (const { datname } of rows) await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(datname)} WITH (FORCE)`);
  await admin.end();

  const redis = new Redis(TEST_REDIS_URL);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `qt-${runId}*`, 'COUNT', 1000);
    if (keys.length) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
  await redis.quit();
}
