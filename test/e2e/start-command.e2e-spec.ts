import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { Child, ensureBuilt, freePort, ROOT, spawnChild, waitFor } from '../support/processes.js';
import { ADMIN_DATABASE_URL, databasePrefix, databaseUrl, redisPrefixBase, uniqueSuffix } from '../support/test-env.js';

async function databaseExists(name: string): Promise<boolean> {
  const admin = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
  await admin.connect();
  try {
    return ((await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount ?? 0) > 0;
  } finally {
    await admin.end();
  }
}

function freshEnv(port: number, database: string): Record<string, string> {
  return {
    NODE_ENV: 'development',
    QUORUM_SKIP_DOTENV: 'true',
    PORT: String(port),
    HOST: '127.0.0.1',
    DATABASE_URL: databaseUrl(database),
    REDIS_PREFIX: `${redisPrefixBase()}-${uniqueSuffix()}`,
    DATA_DIR: mkdtempSync(join(tmpdir(), 'quorum-start-')),
    LOG_LEVEL: 'info',
  };
}

async function ready(port: number): Promise<boolean> {
  const res = await fetch(`http://127.0.0.1:${port}/api/v1/health/ready`);
  return res.status === 200;
}

describe('the one-command start', () => {
  beforeAll(() => ensureBuilt(), 300_000);

  it('`npm start` creates a missing database, migrates it and serves readiness', async () => {
    const port = await freePort();
    const database = `${databasePrefix()}start_${uniqueSuffix()}`;
    expect(await databaseExists(database)).toBe(false);
    const npm = spawn('npm', ['start'], {
      cwd: ROOT,
      env: { ...process.env, ...freshEnv(port, database) },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let output = '';
    npm.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    npm.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise((resolve) => npm.once('exit', resolve));
    try {
      await waitFor(() => ready(port), 120_000, `readiness on ${port}\n${output}`);
      expect(await databaseExists(database)).toBe(true);
      const admin = new pg.Client({ connectionString: databaseUrl(database) });
      await admin.connect();
      const applied = await admin.query('SELECT name FROM migrations');
      await admin.end();
      expect(applied.rowCount).toBeGreaterThan(0);
      // The first 30 lines tell the story in order: build, database, migrations, listening.
      const lines = output.split('\n').slice(0, 30);
      const at = (pattern: RegExp) => lines.findIndex((line) => pattern.test(line));
      const build = at(/^quorum: build (is up to date|finished in \d+\.\d s)/);
      const created = at(new RegExp(`^quorum: database "${database}" created$`));
      const migrations = at(new RegExp(`^quorum: ${applied.rowCount} migrations applied$`));
      const listening = at(new RegExp(`Quorum API listening on http://localhost:${port} .*with the worker in-process`));
      expect({ build, created, migrations, listening }).toEqual({
        build: expect.any(Number),
        created: expect.any(Number),
        migrations: expect.any(Number),
        listening: expect.any(Number),
      });
      expect(build).toBeGreaterThanOrEqual(0);
      expect(created).toBeGreaterThan(build);
      expect(migrations).toBeGreaterThan(created);
      expect(listening).toBeGreaterThan(migrations);
      expect(lines.filter((line) => line.includes('development secrets generated in'))).toHaveLength(1);
      // Nest's module and route listings are debug lines, not in the way.
      expect(output).not.toMatch(/InstanceLoader|RouterExplorer|RoutesResolver|Mapped \{/);
    } finally {
      process.kill(-npm.pid!, 'SIGTERM');
      await exited;
    }
  }, 180_000);

  it('`npm run migration:run` creates the database and prints one line per migration', async () => {
    const database = `${databasePrefix()}migrate_${uniqueSuffix()}`;
    const run = spawnChild(['tools/start.mjs', '--build-only'], {});
    await run.exited;
    const migrate = spawnChild(['dist/src/migrate.js'], { ...freshEnv(1, database) });
    const { code } = await migrate.exited;
    expect(code).toBe(0);
    const lines = migrate.output().trim().split('\n');
    expect(lines[0]).toBe(`quorum: database "${database}" created`);
    const applied = lines.filter((line) => /^quorum: applied \w+\d{13}$/.test(line));
    expect(applied.length).toBeGreaterThan(5);
    expect(lines[lines.length - 1]).toBe(`quorum: ${applied.length} migrations applied`);
    expect(lines).toHaveLength(applied.length + 2);
    const again = spawnChild(['dist/src/migrate.js'], { ...freshEnv(1, database) });
    expect((await again.exited).code).toBe(0);
    expect(again.output().trim()).toBe(
      `quorum: nothing to apply; the schema is up to date (${applied.length} migrations)`,
    );
  }, 120_000);

  describe('the API process', () => {
    let child: Child | undefined;
    afterEach(async () => {
      if (child && child.process.exitCode === null && child.process.signalCode === null) {
        child.process.kill('SIGKILL');
        await child.exited;
      }
      child = undefined;
    });

    it('shuts down cleanly on SIGTERM', async () => {
      const port = await freePort();
      child = spawnChild(['dist/src/main.js'], freshEnv(port, `${databasePrefix()}stop_${uniqueSuffix()}`));
      await waitFor(() => ready(port), 60_000, 'readiness');
      child.process.kill('SIGTERM');
      const { code } = await child.exited;
      expect(code).toBe(0);
      expect(child.output()).toContain('SIGTERM received: shutting down');
      await expect(fetch(`http://127.0.0.1:${port}/api/v1/health/live`)).rejects.toThrow();
    }, 90_000);

    it('exits with one line naming Redis when Redis is unreachable', async () => {
      const port = await freePort();
      const deadRedis = await freePort();
      child = spawnChild(['dist/src/main.js'], {
        ...freshEnv(port, `${databasePrefix()}nored_${uniqueSuffix()}`),
        REDIS_URL: `redis://:s3cret@127.0.0.1:${deadRedis}`,
      });
      const { code } = await child.exited;
      expect(code).toBe(1);
      const lines = child.output().trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(
        new RegExp(
          `^quorum: Cannot reach Redis at redis://:\\*\\*\\*@127\\.0\\.0\\.1:${deadRedis}.*ECONNREFUSED.*redis-server`,
        ),
      );
      expect(child.output()).not.toContain('s3cret');
    }, 90_000);

    it('exits with one line naming PostgreSQL when it is unreachable', async () => {
      const port = await freePort();
      const deadPg = await freePort();
      child = spawnChild(['dist/src/main.js'], {
        ...freshEnv(port, 'unused'),
        DATABASE_URL: `postgres://postgres@127.0.0.1:${deadPg}/quorum`,
      });
      const { code } = await child.exited;
      expect(code).toBe(1);
      const lines = child.output().trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(
        /^quorum: Cannot reach PostgreSQL at postgres:\/\/postgres@127\.0\.0\.1:\d+\/quorum: nothing is listening at 127\.0\.0\.1:\d+ \(ECONNREFUSED\); start it with 'pg_ctlcluster/,
      );
    }, 90_000);

    it('a taken port is one line naming PORT, before anything claims to have started', async () => {
      const holder = createServer();
      await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
      const port = (holder.address() as AddressInfo).port;
      try {
        child = spawnChild(['dist/src/main.js'], freshEnv(port, `${databasePrefix()}busy_${uniqueSuffix()}`));
        const { code } = await child.exited;
        expect(code).toBe(1);
        const lines = child.output().trim().split('\n');
        expect(lines[lines.length - 1]).toBe(
          `quorum: port ${port} on 127.0.0.1 is already in use (PORT=${port}): stop the process that holds it, or set PORT to a free port.`,
        );
        expect(child.output()).not.toMatch(/listening|successfully started|consuming jobs/);
      } finally {
        await new Promise((resolve) => holder.close(resolve));
      }
    }, 90_000);

    it('an API without consumers says so at start and how to start a worker', async () => {
      const port = await freePort();
      child = spawnChild(['dist/src/main.js'], {
        ...freshEnv(port, `${databasePrefix()}noworker_${uniqueSuffix()}`),
        WORKER_IN_PROCESS: 'false',
      });
      await waitFor(() => child!.output().includes('Quorum API listening on'), 60_000, 'the listening line');
      expect(child.output()).toContain(
        'This process hosts no job consumers (WORKER_IN_PROCESS=false): runs stay queued until a worker runs; start one with `npm run start:worker`',
      );
    }, 90_000);

    it('exits with one line naming a malformed variable', async () => {
      child = spawnChild(['dist/src/main.js'], { ...freshEnv(1, 'unused'), PORT: 'eighty' });
      const { code } = await child.exited;
      expect(code).toBe(1);
      expect(child.output().trim()).toMatch(/^quorum: invalid configuration: PORT: must be a whole number/);
      expect(child.output().trim().split('\n')).toHaveLength(1);
    }, 90_000);

    it('refuses production start without real secrets', async () => {
      child = spawnChild(['dist/src/main.js'], {
        ...freshEnv(1, 'unused'),
        NODE_ENV: 'production',
        JWT_SECRET: '',
        ENCRYPTION_KEY: '',
      });
      const { code } = await child.exited;
      expect(code).toBe(1);
      expect(child.output().trim()).toBe(
        'quorum: invalid configuration: JWT_SECRET: is required in production (NODE_ENV=production)',
      );
    }, 90_000);
  });
});
