#!/usr/bin/env node
// `npm run bench`: builds, then runs every bench/*.bench.mjs scenario file against servers on
// 127.0.0.1 only, and writes bench/results.md. Figures are ratios against baselines measured in
// the same run. `npm run bench -- foundation llm` runs only the named files.
import { fork, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import pg from 'pg';

const root = new URL('..', import.meta.url).pathname;
const build = spawnSync(process.execPath, [join(root, 'tools/start.mjs'), '--build-only'], { stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);

const LOAD = { connections: 50, duration: Number(process.env.BENCH_SECONDS ?? 2), pipelining: 1 };
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 10);
/** How the product starts the API: the Docker image gives API-only processes a 16 MB young generation (README, "Memory"); `npm start` (with the worker in-process) runs Node's defaults. */
const API_EXEC_ARGV = (env) => (env.WORKER_IN_PROCESS === 'false' ? ['--max-semi-space-size=16'] : []);
const runId = Date.now().toString(36);
const databases = [];

async function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function waitForHttp(url, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${url}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function stopper(child) {
  return () =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', resolve);
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
    });
}

const ctx = {
  root,
  /** Runs autocannon against `url` (GET unless `options` say otherwise). */
  async load(url, options = {}) {
    const result = await autocannon({ url, ...LOAD, ...options });
    return {
      rps: result.requests.average,
      p50: result.latency.p50,
      p99: result.latency.p99,
      errors: result.errors + result.non2xx,
      raw: result,
    };
  },
  /**
   * Runs each named load in turn, `ROUNDS` times over (short loads), and keeps each one's best round
   * (highest requests/s). Compared figures are measured interleaved, so a burst of other work on a
   * shared machine hits every side alike instead of deciding a ratio by when it happened; on this
   * machine single 2 s rounds of the same server vary by up to a factor of two. A load is called
   * with `{ duration }` for the warm-up and must pass it on to `ctx.load`.
   */
  async bestOf(loads) {
    // One warm-up second each (JIT, connection pools), not counted.
    for (const load of Object.values(loads)) await load({ duration: 1 });
    const best = {};
    const rounds = {};
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, load] of Object.entries(loads)) {
        const result = await load();
        (rounds[name] ??= []).push(result.rps);
        if (!best[name] || result.rps > best[name].rps) best[name] = result;
      }
    }
    // Non-enumerable, so callers can destructure the named results as before.
    Object.defineProperty(best, 'rounds', { value: rounds });
    return best;
  },
  /**
   * The median over rounds of a ÷ b within the same round (measured seconds apart): noise that
   * hits both sides of a round alike cancels, which a ratio of two bests does not guarantee.
   */
  pairedMedian(best, a, b) {
    const ratios = best.rounds[a].map((value, i) => value / best.rounds[b][i]).sort((x, y) => x - y);
    const mid = ratios.length >> 1;
    return ratios.length % 2 ? ratios[mid] : (ratios[mid - 1] + ratios[mid]) / 2;
  },
  /** Forks a small server script (relative to the repo) on a free port. */
  async startServer(script, env = {}) {
    const port = await freePort();
    const child = fork(join(root, script), [], {
      env: { ...process.env, ...env, PORT: String(port) },
      stdio: 'ignore',
    });
    await new Promise((resolve, reject) => {
      child.once('message', resolve);
      child.once('exit', (code) => reject(new Error(`${script} exited ${code}`)));
    });
    return { url: `http://127.0.0.1:${port}`, pid: child.pid, stop: stopper(child) };
  },
  /** A fresh database name for this bench run (dropped at the end). */
  databaseUrl() {
    const name = `quorum_bench_${runId}_${databases.length}`;
    databases.push(name);
    return `postgres://postgres@127.0.0.1:5432/${name}`;
  },
  /** Starts the real API (dist/src/main.js) on a fresh database; resolves once ready. */
  async startApi(env = {}, execArgv = API_EXEC_ARGV(env)) {
    const port = await freePort();
    const dataDir = mkdtempSync(join(tmpdir(), 'quorum-bench-'));
    const child = fork(join(root, 'dist/src/main.js'), [], {
      execArgv,
      env: {
        ...process.env,
        NODE_ENV: 'production',
        JWT_SECRET: 'bench-only-jwt-secret-0123456789abcdef0123456789',
        ENCRYPTION_KEY: 'ab'.repeat(32),
        QUORUM_SKIP_DOTENV: 'true',
        PORT: String(port),
        HOST: '127.0.0.1',
        DATABASE_URL: ctx.databaseUrl(),
        REDIS_PREFIX: `qbench-${runId}`,
        DATA_DIR: dataDir,
        LOG_LEVEL: 'warn',
        RATE_LIMIT_ENABLED: 'false',
        ...env,
      },
      stdio: 'inherit',
    });
    const url = `http://127.0.0.1:${port}`;
    await waitForHttp(`${url}/api/v1/health/ready`, 60_000);
    const stop = stopper(child);
    return { url, pid: child.pid, stop: async () => (await stop(), rmSync(dataDir, { recursive: true, force: true })) };
  },
};

const only = process.argv.slice(2);
const files = readdirSync(join(root, 'bench'))
  .filter((f) => f.endsWith('.bench.mjs'))
  .filter((f) => only.length === 0 || only.includes(f.replace('.bench.mjs', '')))
  .sort((a, b) => (a === 'foundation.bench.mjs' ? -1 : b === 'foundation.bench.mjs' ? 1 : a.localeCompare(b)));

const sections = [];
let failed = false;
for (const file of files) {
  process.stderr.write(`bench: ${file}\n`);
  const started = Date.now();
  try {
    const { run } = await import(join(root, 'bench', file));
    const rows = await run(ctx);
    sections.push({ file, rows, seconds: (Date.now() - started) / 1000 });
  } catch (error) {
    failed = true;
    sections.push({ file, error: error.stack ?? String(error), seconds: (Date.now() - started) / 1000 });
  }
}

const admin = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/postgres' });
await admin.connect();
for (const name of databases) await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
await admin.end();

const cell = (v) => (v === undefined || v === null ? '' : String(v).replace(/\|/g, '\\|'));
const header = `Run ${new Date().toISOString()} on ${process.version}, ${(await import('node:os')).cpus().length} cores; load: autocannon, ${LOAD.connections} connections, ${LOAD.duration} s per HTTP load; compared HTTP figures are the best of ${ROUNDS} interleaved rounds. Everything runs on 127.0.0.1.`;
/** Sections of files not run this time are kept from the previous results (a partial run replaces only its own). */
const kept = new Map();
if (only.length > 0 && existsSync(join(root, 'bench/results.md'))) {
  const previous = readFileSync(join(root, 'bench/results.md'), 'utf8');
  const previousHeader = /^Run .*$/m.exec(previous)?.[0];
  for (const part of previous.split(/^(?=## )/m).slice(1)) {
    const name = /^## (\S+)/.exec(part)?.[1];
    if (!name) continue;
    const body = part.trimEnd().split('\n');
    if (previousHeader && !body.some((line) => line.startsWith('_Run '))) body.splice(1, 0, '', `_${previousHeader}_`);
    kept.set(name, body.join('\n') + '\n');
  }
}
const rendered = new Map(kept);
for (const section of sections) {
  const out = [`## ${section.file.replace('.bench.mjs', '')} (${section.seconds.toFixed(0)} s)`, ''];
  if (only.length > 0) out.push(`_${header}_`, '');
  if (section.error) {
    out.push('FAILED:', '```', section.error, '```', '');
  } else {
    out.push('| scenario | metric | value | baseline | ratio | target | met |', '|---|---|---|---|---|---|---|');
    for (const row of section.rows) {
      const met = row.pass === undefined ? '' : row.pass ? 'yes' : 'NO';
      out.push(
        `| ${[row.scenario, row.metric, row.value, row.baseline, row.ratio, row.target].map(cell).join(' | ')} | ${met} |`,
      );
    }
    out.push('');
  }
  rendered.set(section.file.replace('.bench.mjs', ''), out.join('\n'));
}
const order = [...rendered.keys()].sort((a, b) =>
  a === 'foundation' ? -1 : b === 'foundation' ? 1 : a.localeCompare(b),
);
const lines = [
  '# Quorum benchmark results',
  '',
  only.length > 0 ? 'Sections were measured in separate runs; each says when.' : header,
  '',
];
for (const name of order) lines.push(rendered.get(name));
writeFileSync(join(root, 'bench/results.md'), lines.join('\n'));
process.stdout.write(lines.join('\n') + '\n');
process.exit(failed ? 1 : 0);
