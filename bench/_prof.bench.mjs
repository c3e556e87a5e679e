// The coder's and tester's tool loop (issue 12):
//  - loop overhead per tool call, excluding the model and the tool's own work: the time from the
//    fake model's answer with a tool call to the next model request, minus the tool's own duration
//    (its agent.tool_call durationMs). What remains is the loop itself: gateway bookkeeping (usage
//    row, step memo), the LangGraph supersteps and their PostgreSQL checkpoints, the event write.
//    Target p50 ≤ 5 ms.
//  - `search` and `read_file` on a generated 10,000-file repository, p95 ≤ 150 ms.
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadavg } from 'node:os';
import pg from 'pg';
import { startFakeLlm } from '../test/support/fake-llm/fake-llm.ts';

// Database round trips are counted too: unlike times, they do not depend on the machine's load.
let queries = 0;
let counting = false; const tally = new Map(); process.on("exit", () => { console.error([...tally].sort((a,b)=>b[1]-a[1]).map(([k,v])=>v+"  "+k).join("\n")); });
const originalQuery = pg.Client.prototype.query;
pg.Client.prototype.query = function countedQuery(...args) {
  if (counting) { queries++; const q = typeof args[0] === "string" ? args[0] : args[0]?.text ?? args[0]?.name ?? "?"; const k = String(q).replace(/\s+/g, " ").slice(0, 70); tally.set(k, (tally.get(k) ?? 0) + 1); }
  return originalQuery.apply(this, args);
};

const RUNS = Number(process.env.BENCH_LOOP_RUNS ?? 3);
const CALLS = Number(process.env.BENCH_LOOP_CALLS ?? 30);
const FILES = 10_000;
const SAMPLES = Number(process.env.BENCH_TOOL_SAMPLES ?? 40);

const round = (ms) => Math.round(ms * 10) / 10;
function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

export async function run(ctx) {
  return [...(await loopOverhead(ctx))];
}

async function loopOverhead(ctx) {
  const id = randomBytes(4).toString('hex');
  const databaseUrl = ctx?.databaseUrl?.() ?? `postgres://postgres@127.0.0.1:5432/quorum_bench_loop_${id}`;
  // Per coder request: when it arrived (the answer leaves right after) and which round it was.
  const arrivals = new Map();
  const fake = await startFakeLlm({
    handler: (request) => {
      const tool = request.forcedTool ?? request.tools[0];
      if (tool === 'submit_plan')
        return { toolCalls: [{ name: 'submit_plan', arguments: { summary: 'p', steps: [] } }] };
      if (tool === 'submit_review')
        return { toolCalls: [{ name: 'submit_review', arguments: { verdict: 'APPROVE', summary: 'ok', issues: [] } }] };
      if (tool === 'write_tests')
        return {
          toolCalls: [
            {
              name: 'write_tests',
              arguments: {
                files: [{ path: 't.test.mjs', content: "import { test } from 'node:test';\ntest('ok', () => {});\n" }],
              },
            },
          ],
        };
      const runKey = request.prompt.match(/bench-run-(\d+)/)?.[1] ?? '?';
      const seen = arrivals.get(runKey) ?? [];
      seen.push(performance.now());
      arrivals.set(runKey, seen);
      const k = seen.length;
      if (k > CALLS) return { toolCalls: [{ name: 'write_files', arguments: { files: [] } }] };
      // A different window each time (an identical call repeated would be stopped as STUCK).
      return { toolCalls: [{ name: 'read_file', arguments: { path: 'notes.txt', startLine: k, endLine: k + 2 } }] };
    },
  });
  const savedEnv = { ...process.env };
  Object.assign(process.env, {
    QUORUM_SKIP_DOTENV: 'true',
    DATABASE_URL: databaseUrl,
    REDIS_PREFIX: `bench-loop-${id}`,
    DATA_DIR: `/tmp/quorum-bench-loop-${id}`,
    LOG_LEVEL: 'silent',
    RATE_LIMIT_ENABLED: 'false',
    OPENAI_API_KEY: 'bench',
    OPENAI_BASE_URL: fake.openaiBaseUrl,
    DEFAULT_MODEL: 'openai:gpt-4o',
    AGENT_STREAM_DELTAS: 'false',
    AGENT_QUEUED_SWEEP_SECONDS: '3600',
  });
  const { ensureDatabase } = await import('../dist/src/database/ensure-database.js');
  await ensureDatabase(databaseUrl);
  const { NestFactory } = await import('@nestjs/core');
  const { AppModule } = await import('../dist/src/app.module.js');
  const { configureHttpApp } = await import('../dist/src/bootstrap/configure-http-app.js');
  const { DataSource } = await import('typeorm');
  const app = await NestFactory.create(await AppModule.register({ workerInProcess: true }), {
    bodyParser: false,
    logger: false,
  });
  configureHttpApp(app);
  await app.listen(0, '127.0.0.1');
  const base = `http://127.0.0.1:${app.getHttpServer().address().port}/api/v1`;
  const call = async (method, path, body, headers = {}) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...headers },
      body: body ? JSON.stringify(body) : undefined,
    });
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    return res.status === 204 ? null : res.json();
  };
  const overheads = [];
  let cpuMs = 0;
  let queryCount = 0;
  const load = loadavg()[0];
  try {
    const email = `bench-loop-${id}@example.test`;
    const password = `Bench-${randomBytes(9).toString('base64url')}`;
    await call('POST', '/auth/register', { email, password });
    await app.get(DataSource).query('UPDATE users SET email_verified = true WHERE email = $1', [email]);
    const { accessToken } = await call('POST', '/auth/login', { email, password });
    const auth = { authorization: `Bearer ${accessToken}` };
    const notes = Array.from({ length: 200 }, (_, i) => `note ${i + 1}`).join('\n');
    for (let r = 0; r < RUNS; r++) {
      const { task } = await call(
        'POST',
        '/tasks',
        {
          title: `bench-run-${r}`,
          description: 'Read the notes.',
          language: 'javascript',
          files: [{ path: 'notes.txt', content: notes }],
          config: { maxToolCalls: CALLS },
        },
        auth,
      );
      const { run } = await call('POST', `/tasks/${task.id}/execute`, undefined, auth);
      // CPU time and round trips of the coder's loop only (from its first to its last request).
      const loopStarted = new Promise((resolve) => {
        const poll = () => ((arrivals.get(String(r))?.length ?? 0) >= 2 ? resolve() : setTimeout(poll, 1));
        poll();
      });
      await loopStarted;
      const cpuBefore = process.cpuUsage();
      queries = 0;
      counting = true;
      await new Promise((resolve) => {
        const poll = () => ((arrivals.get(String(r))?.length ?? 0) >= CALLS + 1 ? resolve() : setTimeout(poll, 1));
        poll();
      });
      counting = false;
      const cpu = process.cpuUsage(cpuBefore);
      cpuMs += (cpu.user + cpu.system) / 1000;
      queryCount += queries;
      for (;;) {
        const state = await call('GET', `/agents/runs/${run.id}`, undefined, auth);
        if (['completed', 'failed', 'cancelled'].includes(state.status)) {
          if (state.status !== 'completed') throw new Error(`bench run ${state.status}: ${state.error}`);
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const events = await call('GET', `/agents/runs/${run.id}/events`, undefined, auth);
      const durations = events.items.filter((e) => e.type === 'agent.tool_call').map((e) => e.data.durationMs);
      const seen = arrivals.get(String(r));
      if (durations.length !== CALLS || seen.length !== CALLS + 1)
        throw new Error(`run ${r}: ${durations.length} tool calls, ${seen.length} coder requests`);
      // The first round of each run warms its step up; rounds 2.. are the loop's steady state.
      for (let k = 1; k < CALLS; k++) overheads.push(seen[k + 1] - seen[k] - durations[k]);
    }
  } finally {
    await app.close();
    await fake.close();
    rmSync(process.env.DATA_DIR, { recursive: true, force: true });
    for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
    Object.assign(process.env, savedEnv);
  }
  const s = 'agent tool loop';
  const rounds = RUNS * (CALLS - 1);
  return [
    { scenario: s, metric: 'machine load average (1 min) while measuring, on 2 cores', value: round(load) },
    {
      scenario: s,
      metric:
        'PostgreSQL round trips per tool call (model node + tool node: checkpoints, usage/budget, step memo, event)',
      value: round(queryCount / rounds),
    },
    {
      scenario: s,
      metric: 'CPU ms per tool call in the API+worker process (incl. the in-process fake model and its HTTP)',
      value: round(cpuMs / rounds),
    },
    {
      scenario: s,
      metric: `loop overhead per tool call p50 ms (target ≤ 5; ${overheads.length} calls)`,
      value: round(percentile(overheads, 50)),
    },
    { scenario: s, metric: 'loop overhead per tool call p95 ms', value: round(percentile(overheads, 95)) },
  ];
}

async function toolsOnLargeRepository() {
  const dataDir = mkdtempSync(join(tmpdir(), 'quorum-bench-tools-'));
  try {
    const { WorkspaceService } = await import('../dist/src/agents/workspace/workspace.service.js');
    const { WorkspaceToolbox } = await import('../dist/src/agents/tools/workspace-toolbox.js');
    const config = {
      get: (ns) =>
        ns === 'app'
          ? { dataDir }
          : { workspace: { maxFiles: 200, maxFileBytes: 1_000_000, maxTotalBytes: 5_000_000, keepHours: 0 } },
    };
    const workspaces = new WorkspaceService(config);
    const dir = await workspaces.create('bench-large-repo');
    // 10,000 source files of 60 lines in 100 packages, plus installed dependencies the tools skip.
    for (let d = 0; d < 100; d++) {
      mkdirSync(join(dir, `packages/pkg${d}/src`), { recursive: true });
      for (let f = 0; f < FILES / 100; f++) {
        const n = d * 100 + f;
        const lines = Array.from(
          { length: 60 },
          (_, i) => `export const value_${n}_${i} = compute(${n}, ${i}); // item ${i}`,
        );
        writeFileSync(join(dir, `packages/pkg${d}/src/module${f}.js`), `${lines.join('\n')}\n`);
      }
    }
    mkdirSync(join(dir, 'node_modules/dep'), { recursive: true });
    writeFileSync(join(dir, 'node_modules/dep/index.js'), 'export const value_1_1 = 1;\n');
    const toolbox = new WorkspaceToolbox(dir, workspaces, null);
    const timed = async (name, args) => {
      const started = performance.now();
      const result = await toolbox.execute(name, args);
      if (!result.ok) throw new Error(`${name} failed: ${result.content.slice(0, 200)}`);
      return performance.now() - started;
    };
    await timed('search', { pattern: 'warm-up' });
    const searches = [];
    const reads = [];
    for (let i = 0; i < SAMPLES; i++) {
      const n = (i * 211) % FILES;
      // A rare identifier (one match), a common one (capped at 100), and a regular expression.
      const pattern = i % 3 === 0 ? `value_${n}_7 ` : i % 3 === 1 ? 'compute\\(' : `value_${n}_[0-9]+ = compute`;
      searches.push(await timed('search', { pattern }));
      reads.push(
        await timed('read_file', {
          path: `packages/pkg${Math.floor(n / 100)}/src/module${n % 100}.js`,
          startLine: 10,
          endLine: 40,
        }),
      );
    }
    const s = 'agent tools on a 10,000-file repository';
    return [
      { scenario: s, metric: 'search p50 ms', value: round(percentile(searches, 50)) },
      { scenario: s, metric: 'search p95 ms (target ≤ 150)', value: round(percentile(searches, 95)) },
      { scenario: s, metric: 'read_file p50 ms', value: round(percentile(reads, 50)) },
      { scenario: s, metric: 'read_file p95 ms (target ≤ 150)', value: round(percentile(reads, 95)) },
    ];
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

// `node bench/tool-loop.bench.mjs` runs it alone (after `npm run build`).
if (import.meta.url === `file://${process.argv[1]}`) {
  const rows = await run();
  for (const row of rows) process.stdout.write(`${JSON.stringify(row)}\n`);
}
