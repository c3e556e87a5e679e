import { Redis } from 'ioredis';
import { ensureDatabase } from '#src/database/ensure-database.js';

/** A server that start-up needs and could not reach: printed as one line, then exit 1. */
export class PreflightError extends Error {}

export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable URL)';
  }
}

const HOW_TO_START = {
  postgres:
    "start it with 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start' or 'docker compose -f docker/docker-compose.yml up -d postgres'",
  redis:
    "start it with 'redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save \"\" --appendonly no' or 'docker compose -f docker/docker-compose.yml up -d redis'",
};

function reason(error: unknown): string {
  const err = error as { code?: string; message?: string; errors?: Array<{ code?: string }> };
  return err.code ?? err.errors?.[0]?.code ?? err.message ?? String(error);
}

/** Creates the database if missing; true when it was created. */
export async function checkPostgres(url: string): Promise<boolean> {
  try {
    return (await ensureDatabase(url)).created;
  } catch (error) {
    throw new PreflightError(
      `Cannot reach PostgreSQL at ${redactUrl(url)} (${reason(error)}): ${HOW_TO_START.postgres}.`,
    );
  }
}

export async function checkRedis(url: string): Promise<void> {
  const client = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 3_000,
    enableOfflineQueue: false,
  });
  // ioredis reports the socket's own error (ECONNREFUSED, ENOTFOUND…) on the event, and only a
  // generic "Connection is closed" from connect(); keep the telling one.
  let socketError: unknown;
  client.on('error', (error) => (socketError ??= error));
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    throw new PreflightError(
      `Cannot reach Redis at ${redactUrl(url)} (${reason(socketError ?? error)}): ${HOW_TO_START.redis}.`,
    );
  } finally {
    client.disconnect();
  }
}
