import { randomBytes } from 'node:crypto';

/**
 * Names this run (databases and Redis keys carry the id). The migrated template database is made
 * lazily by the first test file that needs one (see test-database.ts), inside jest's ESM runtime.
 */
export default async function globalSetup(): Promise<void> {
  process.env.QUORUM_TEST_RUN_ID ??= `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  process.env.QUORUM_SKIP_DOTENV = 'true';
}
