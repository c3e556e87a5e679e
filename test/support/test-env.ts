import { randomBytes } from 'node:crypto';

/**
 * Names shared by one `npm test` run: every database and Redis key it makes starts with these, so
 * two runs at once never collide and teardown removes exactly what this run made.
 */
export const ADMIN_DATABASE_URL = process.env.TEST_ADMIN_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export function runId(): string {
  const id = process.env.QUORUM_TEST_RUN_ID;
  if (!id) throw new Error('QUORUM_TEST_RUN_ID is not set: run the tests through `npm test` (jest globalSetup)');
  return id;
}

export const templateDatabaseName = () => `quorum_t_${runId()}_tpl`;
export const databasePrefix = () => `quorum_t_${runId()}_`;
export const redisPrefixBase = () => `qt-${runId()}`;

export function databaseUrl(name: string): string {
  const url = new URL(ADMIN_DATABASE_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

export function uniqueSuffix(): string {
  return randomBytes(4).toString('hex');
}
