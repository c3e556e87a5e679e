import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import { redactUrl } from '#src/config/redact.js';
import { ensureDatabase } from '#src/database/ensure-database.js';

/** A server that start-up needs and could not use: printed as one line, then exit 1. */
export class PreflightError extends Error {}

/** The DATABASE_URL that matches docker/docker-compose.yml's PostgreSQL (user and password `quorum`). */
export const COMPOSE_DATABASE_URL = 'postgres://quorum:quorum@127.0.0.1:5432/quorum';

const START_POSTGRES =
  "start it with 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start' or 'docker compose -f docker/docker-compose.yml up -d postgres'";

const startRedis = (port: string) =>
  `start it with 'redis-server --daemonize yes --bind 127.0.0.1 --port ${port} --save "" --appendonly no'` +
  (port === '6379' ? " or 'docker compose -f docker/docker-compose.yml up -d redis'" : '');

interface DriverError {
  code?: string;
  message?: string;
  errors?: Array<{ code?: string; message?: string }>;
}

/** The error's code: a PostgreSQL SQLSTATE, a socket code, or the first of an AggregateError's. */
function codeOf(error: unknown): string | undefined {
  const err = error as DriverError;
  return err.code ?? err.errors?.find((e) => e.code)?.code;
}

function messageOf(error: unknown): string {
  const err = error as DriverError;
  return err.message || err.errors?.find((e) => e.message)?.message || String(error);
}

/** Why the socket could not be opened, in words, or undefined when the server did answer. */
function socketProblem(code: string | undefined, where: string): string | undefined {
  switch (code) {
    case 'ECONNREFUSED':
      return `nothing is listening at ${where} (ECONNREFUSED)`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `the host of ${where} is not known (${code})`;
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `${where} did not answer (${code})`;
    default:
      return undefined;
  }
}

/** One line saying what PostgreSQL answered and what to change. */
export function postgresProblem(url: string, error: unknown): string {
  const shown = redactUrl(url);
  const parsed = new URL(url);
  const user = decodeURIComponent(parsed.username) || 'postgres';
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  const where = `${parsed.hostname}:${parsed.port || '5432'}`;
  const code = codeOf(error);
  const socket = socketProblem(code, where);
  if (socket) return `Cannot reach PostgreSQL at ${shown}: ${socket}; ${START_POSTGRES}.`;
  const message = messageOf(error);
  const setUrl = `set DATABASE_URL=postgres://USER:PASSWORD@${where}/${database || 'quorum'} (with docker/docker-compose.yml's PostgreSQL: DATABASE_URL=${COMPOSE_DATABASE_URL})`;
  if (code === '28000' && /does not exist/.test(message))
    return `PostgreSQL at ${shown} answered: role "${user}" does not exist; ${setUrl}.`;
  if (code === '28P01' || code === '28000')
    return `PostgreSQL at ${shown} refused the login: authentication failed for user "${user}" (${message}); ${setUrl}.`;
  // pg asks for the password only when the server wants one (SCRAM) and none was given.
  if (/client password must be a string/.test(message))
    return `PostgreSQL at ${shown} wants a password for user "${user}" and DATABASE_URL has none; ${setUrl}.`;
  if (code === '3D000')
    return `PostgreSQL at ${shown} has no database "postgres" to connect to while creating "${database}": create "${database}" yourself (createdb ${database}) or point DATABASE_URL at a server that has it.`;
  if (code === '42501')
    return `PostgreSQL at ${shown}: user "${user}" may not create the database "${database}": create it yourself (createdb -O ${user} ${database}) or give the user CREATEDB.`;
  if (code === '57P03')
    return `PostgreSQL at ${shown} is starting up or shutting down (57P03): wait a moment and start again.`;
  return `PostgreSQL at ${shown} failed: ${message}${code ? ` (${code})` : ''}.`;
}

/** Creates the database if missing; true when it was created. */
export async function checkPostgres(url: string): Promise<boolean> {
  try {
    return (await ensureDatabase(url)).created;
  } catch (error) {
    throw new PreflightError(postgresProblem(url, error));
  }
}

/** One line saying what Redis answered and what to change. */
export function redisProblem(url: string, error: unknown): string {
  const shown = redactUrl(url);
  const parsed = new URL(url);
  const port = parsed.port || '6379';
  const where = `${parsed.hostname}:${port}`;
  const code = codeOf(error);
  const socket = socketProblem(code, where);
  if (socket) return `Cannot reach Redis at ${shown}: ${socket}; ${startRedis(port)}.`;
  const message = messageOf(error);
  if (/^NOAUTH/.test(message))
    return `Redis at ${shown} requires a password and REDIS_URL gives none (NOAUTH): set REDIS_URL=redis://:PASSWORD@${where}.`;
  if (/^WRONGPASS/.test(message))
    return `Redis at ${shown} refused the password in REDIS_URL (WRONGPASS: wrong user name or password): set REDIS_URL=redis://[USER]:PASSWORD@${where} with the server's password.`;
  return `Redis at ${shown} failed: ${message}.`;
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
    throw new PreflightError(redisProblem(url, socketError ?? error));
  } finally {
    client.disconnect();
  }
}

export function databaseName(url: string): string {
  return decodeURIComponent(new URL(url).pathname.replace(/^\//, ''));
}

/** The API's port must be free: said in one line naming PORT before anything starts. */
export async function checkPortFree(port: number, host: string): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new PreflightError(
              `port ${port} on ${host} is already in use (PORT=${port}): stop the process that holds it, or set PORT to a free port.`,
            )
          : error.code === 'EACCES'
            ? new PreflightError(
                `port ${port} needs privileges this process lacks (PORT=${port}): set PORT above 1023.`,
              )
            : error,
      ),
    );
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}
