import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dropTestDatabase } from '../support/test-database.js';
import { ensureBuilt, freePort, ROOT, waitFor } from '../support/processes.js';
import { databasePrefix, databaseUrl, redisPrefixBase, uniqueSuffix } from '../support/test-env.js';

/** The fenced bash block after the README's `<!-- quick-start:<name>` marker, as written. */
function quickStartBlock(readme: string, name: string): string {
  const marker = readme.indexOf(`<!-- quick-start:${name}`);
  if (marker < 0) throw new Error(`README has no quick-start:${name} block`);
  const open = readme.indexOf('```bash\n', marker);
  const close = readme.indexOf('\n```', open + 8);
  if (open < 0 || close < 0) throw new Error(`the quick-start:${name} marker is not followed by a bash block`);
  return readme.slice(open + 8, close + 1);
}

/** Runs a shell script in its own process group (so everything it starts can be stopped), collecting its output. */
function bash(script: string, env: Record<string, string>) {
  const child = spawn('bash', ['-c', script], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

/**
 * The README's quick start, run as a newcomer would copy it: the server block (the fake model in
 * echo mode and `npm start`, teed to quorum.log) and then the client block of curl commands. Only
 * the ports (4010, 3000) and the log's path are replaced, so that the test runs beside others; the
 * server gets its own database (created by `npm start`) and Redis prefix.
 */
describe('the README quick start', () => {
  beforeAll(() => ensureBuilt(), 300_000);

  it('goes from nothing to a verified user and a completed run, exactly as written', async () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const serverBlock = quickStartBlock(readme, 'server');
    const clientBlock = quickStartBlock(readme, 'client');
    expect(serverBlock).toContain('npm start');
    expect(clientBlock).toContain('http://localhost:3000/api/v1');

    const [apiPort, modelPort] = [await freePort(), await freePort()];
    const log = join(mkdtempSync(join(tmpdir(), 'quorum-quickstart-')), 'quorum.log');
    const localize = (block: string) =>
      block
        .replaceAll('127.0.0.1:4010', `127.0.0.1:${modelPort}`)
        .replaceAll('localhost:3000', `localhost:${apiPort}`)
        .replaceAll('quorum.log', log);
    const database = `${databasePrefix()}quickstart_${uniqueSuffix()}`;
    const server = bash(localize(serverBlock), {
      NODE_ENV: 'development',
      QUORUM_SKIP_DOTENV: 'true',
      PORT: String(apiPort),
      FAKE_LLM_PORT: String(modelPort),
      DATABASE_URL: databaseUrl(database),
      REDIS_PREFIX: `${redisPrefixBase()}-${uniqueSuffix()}`,
      DATA_DIR: mkdtempSync(join(tmpdir(), 'quorum-quickstart-data-')),
      LOG_LEVEL: 'info',
    });
    try {
      await waitFor(
        // Ready, and this server (its own log line), not another process on the port.
        async () =>
          server.output().includes(`listening on http://localhost:${apiPort}`) &&
          (await fetch(`http://localhost:${apiPort}/api/v1/health/ready`)).status === 200,
        150_000,
        `the quick start's server\n${server.output()}`,
      );
      // On failure the ERR trap names the command that failed (curl's exit code alone does not say which).
      const trap = `trap 'echo "quick start failed (exit $?) at line $LINENO: $BASH_COMMAND" >&2' ERR`;
      const client = bash(`set -euo pipefail\n${trap}\n${localize(clientBlock)}`, {});
      let timer: NodeJS.Timeout | undefined;
      const code = await Promise.race([
        client.exited,
        new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), 120_000))),
      ]);
      clearTimeout(timer);
      if (code === 'timeout') process.kill(-client.child.pid!, 'SIGTERM');
      const output = client.output();
      // On failure, show what the client printed and the server's last lines (did it stop? what did it log?).
      const serverTail = () => server.output().split('\n').slice(-80).join('\n');
      expect({ code, output, server: code === 0 ? 'running' : serverTail() }).toEqual({
        code: 0,
        output: expect.any(String),
        server: 'running',
      });
      const lines = output.trim().split('\n');
      // Registered unverified, verified through the logged mail's link token.
      expect(lines.slice(0, 2)).toEqual([
        '{"email":"me@example.com","emailVerified":false}',
        '{"email":"me@example.com","emailVerified":true}',
      ]);
      const events = lines.filter((line) => line.startsWith('event: '));
      expect(events[0]).toBe('event: run.queued');
      expect(events.at(-1)).toBe('event: run.completed');
      expect(events).toContain('event: tests.completed');
      // The README promises this last line word for word.
      const promised = /the result is\s+`([^`]+)`/.exec(readme)?.[1];
      expect(promised).toBe('{"status":"completed","tests":2,"review":"APPROVE","files":["add.js"]}');
      expect(lines.at(-1)).toBe(promised);
      expect(readFileSync(log, 'utf8')).toContain('verify-email?token=');
    } finally {
      process.kill(-server.child.pid!, 'SIGTERM');
      await server.exited;
      // npm's children (the app shutting down gracefully, the fake model) outlive bash: wait for the whole group.
      const groupAlive = () => {
        try {
          process.kill(-server.child.pid!, 0);
          return true;
        } catch {
          return false;
        }
      };
      await waitFor(() => !groupAlive(), 60_000, 'the quick start processes to exit').catch(() =>
        process.kill(-server.child.pid!, 'SIGKILL'),
      );
      await dropTestDatabase(database).catch(() => undefined);
    }
  }, 400_000);
});
