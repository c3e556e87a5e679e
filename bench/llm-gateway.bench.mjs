// Gateway overhead per call against the fake LLM server with zero latency: calls/s through
// LlmGatewayService ÷ calls/s of the bare openai SDK against the same server in the same run
// (target ≥ 0.8), and the p99 latency the gateway adds (target < 5 ms). The gateway does its
// real work on every call: breaker check in Redis, budget lookup and usage record in PostgreSQL.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startFakeLlm } from '../test/support/fake-llm/fake-llm.ts';

const CONCURRENCY = 16;
const THROUGHPUT_CALLS = 2_000;
const LATENCY_SAMPLES = 600;
const ROUNDS = 10;

const percentile = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
};

async function throughput(call, total, concurrency) {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < total) await call();
    }),
  );
  return total / ((performance.now() - started) / 1000);
}

export async function run(ctx) {
  const suffix = randomBytes(4).toString('hex');
  const fake = await startFakeLlm();
  fake.script(() => ({ text: 'ok', usage: { input: 20, output: 2 } }));
  // The runner's databases are dropped by the runner; standalone, this file drops its own.
  const ownDatabase = !ctx?.databaseUrl;
  const databaseUrl = ctx?.databaseUrl
    ? ctx.databaseUrl()
    : `postgres://postgres@127.0.0.1:5432/quorum_bench_llm_${suffix}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'quorum-bench-'));
  const env = {
    NODE_ENV: 'test',
    QUORUM_SKIP_DOTENV: 'true',
    LOG_LEVEL: 'silent',
    DATA_DIR: dataDir,
    DATABASE_URL: databaseUrl,
    DATABASE_MIGRATIONS_RUN: 'true',
    DATABASE_POOL_SIZE: '20',
    REDIS_PREFIX: `bench-llm-${suffix}`,
    OPENAI_API_KEY: 'sk-bench',
    OPENAI_BASE_URL: fake.openaiBaseUrl,
    DEFAULT_MODEL: 'openai:gpt-4o',
  };
  // Config reads process.env when the app starts; put it back afterwards for the other scenarios.
  const previous = Object.fromEntries(Object.keys(env).map((key) => [key, process.env[key]]));
  Object.assign(process.env, env);

  const { ensureDatabase, quoteIdent } = await import('../dist/src/database/ensure-database.js');
  await ensureDatabase(databaseUrl);
  const { Module } = await import('@nestjs/common');
  const { NestFactory } = await import('@nestjs/core');
  const { CoreModule } = await import('../dist/src/core.module.js');
  const { LlmModule } = await import('../dist/src/agents/llm/llm.module.js');
  const { LlmGatewayService } = await import('../dist/src/agents/llm/llm-gateway.service.js');
  const { default: OpenAI } = await import('openai');

  class LlmBenchModule {}
  Module({ imports: [CoreModule, LlmModule] })(LlmBenchModule);
  const app = await NestFactory.createApplicationContext(LlmBenchModule, { logger: false });
  const gateway = app.get(LlmGatewayService);
  const bare = new OpenAI({ apiKey: 'sk-bench', baseURL: fake.openaiBaseUrl, maxRetries: 0 });

  const messages = [{ role: 'user', content: 'Say ok.' }];
  const { DataSource } = await import('typeorm');
  const [{ id: userId }] = await app
    .get(DataSource)
    .query(`INSERT INTO users (email, email_verified) VALUES ($1, true) RETURNING id`, [
      `bench-${randomUUID()}@example.test`,
    ]);
  const viaSdk = () => bare.chat.completions.create({ model: 'gpt-4o', messages, max_completion_tokens: 4096 });
  const viaGateway = () => gateway.call({ context: { userId, agent: 'coder' }, messages });

  try {
    // Warm up connections, JIT and prepared scripts on both paths.
    await throughput(viaSdk, 200, CONCURRENCY);
    await throughput(viaGateway, 200, CONCURRENCY);

    // Alternate rounds so drift on a shared machine hits both sides alike; keep each side's best.
    let sdkRate = 0;
    let gatewayRate = 0;
    const sameRound = [];
    for (let round = 0; round < ROUNDS; round++) {
      // The fake server logs every request it serves; nothing here reads the log, and tens of
      // thousands of entries would make the heap, and its collection pauses, grow run by run.
      fake.requests.length = 0;
      const sdk = await throughput(viaSdk, THROUGHPUT_CALLS, CONCURRENCY);
      const viaGatewayRate = await throughput(viaGateway, THROUGHPUT_CALLS, CONCURRENCY);
      sdkRate = Math.max(sdkRate, sdk);
      gatewayRate = Math.max(gatewayRate, viaGatewayRate);
      sameRound.push(viaGatewayRate / sdk);
    }
    sameRound.sort((a, b) => a - b);
    const pairedMedian = (sameRound[ROUNDS / 2 - 1] + sameRound[ROUNDS / 2]) / 2;

    // Sequential, interleaved samples: what one call waits for, with and without the gateway.
    fake.requests.length = 0;
    const sdkLatency = [];
    const gatewayLatency = [];
    for (let i = 0; i < LATENCY_SAMPLES; i++) {
      let t = performance.now();
      await viaSdk();
      sdkLatency.push(performance.now() - t);
      t = performance.now();
      await viaGateway();
      gatewayLatency.push(performance.now() - t);
    }
    const p50Added = percentile(gatewayLatency, 50) - percentile(sdkLatency, 50);
    const p99Added = percentile(gatewayLatency, 99) - percentile(sdkLatency, 99);
    const round2 = (n) => Math.round(n * 100) / 100;
    return [
      {
        scenario: 'llm-gateway',
        metric: `calls/s through the gateway (concurrency ${CONCURRENCY}, fake server, zero latency)`,
        value: Math.round(gatewayRate),
        baseline: Math.round(sdkRate),
        ratio: round2(gatewayRate / sdkRate),
        target: 'ratio ≥ 0.8',
        pass: gatewayRate / sdkRate >= 0.8,
      },
      {
        scenario: 'llm-gateway',
        metric: 'calls/s ratio, median of same-round ratios (noise common to a round cancels)',
        value: round2(pairedMedian),
      },
      {
        scenario: 'llm-gateway',
        metric: 'p99 added latency per call, ms (sequential)',
        value: round2(p99Added),
        baseline: round2(percentile(sdkLatency, 99)),
        target: '< 5 ms',
        pass: p99Added < 5,
      },
      {
        scenario: 'llm-gateway',
        metric: 'p50 added latency per call, ms (sequential)',
        value: round2(p50Added),
        baseline: round2(percentile(sdkLatency, 50)),
      },
    ];
  } finally {
    await app.close();
    await fake.close();
    rmSync(dataDir, { recursive: true, force: true });
    for (const [key, value] of Object.entries(previous)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    if (ownDatabase) {
      const pg = (await import('pg')).default;
      const admin = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/postgres' });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(`quorum_bench_llm_${suffix}`)} WITH (FORCE)`);
      await admin.end();
    }
    const { Redis } = await import('ioredis');
    const redis = new Redis('redis://127.0.0.1:6379');
    const keys = await redis.keys(`bench-llm-${suffix}*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  }
}

// Standalone: `npm run build && node bench/llm-gateway.bench.mjs`.
if (import.meta.url === `file://${process.argv[1]}`) {
  console.table(await run());
}
