// A worker-like Nest context (CoreModule + LlmModule) on its own database and Redis prefix, served
// by a fake LLM server: what the gateway benches measure the gateway in. Config reads process.env
// when the app starts, so the environment is set for the start and put back by `close()`, which
// also drops what the context made (its data directory; its database unless the runner owns it;
// its Redis keys).
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * @param ctx the runner's context (`ctx.databaseUrl()` hands out a database it drops), or undefined standalone
 * @param fake a started fake LLM server (its OpenAI base URL is the default provider)
 * @param options `name` tags the database and Redis prefix; `env` adds or overrides variables
 */
export async function gatewayContext(ctx, fake, { name, env: extra = {} }) {
  const suffix = randomBytes(4).toString('hex');
  const ownDatabase = !ctx?.databaseUrl;
  const databaseName = `quorum_bench_${name}_${suffix}`;
  const databaseUrl = ownDatabase ? `postgres://postgres@127.0.0.1:5432/${databaseName}` : ctx.databaseUrl();
  const redisPrefix = `bench-${name}-${suffix}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'quorum-bench-'));
  const env = {
    NODE_ENV: 'test',
    QUORUM_SKIP_DOTENV: 'true',
    LOG_LEVEL: 'silent',
    DATA_DIR: dataDir,
    DATABASE_URL: databaseUrl,
    DATABASE_MIGRATIONS_RUN: 'true',
    DATABASE_POOL_SIZE: '20',
    REDIS_PREFIX: redisPrefix,
    OPENAI_API_KEY: 'sk-bench',
    OPENAI_BASE_URL: fake.openaiBaseUrl,
    DEFAULT_MODEL: 'openai:gpt-4o',
    ...extra,
  };
  const previous = Object.fromEntries(Object.keys(env).map((key) => [key, process.env[key]]));
  Object.assign(process.env, env);
  const restoreEnv = () => {
    for (const [key, value] of Object.entries(previous)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  };

  const { ensureDatabase, quoteIdent } = await import('../../dist/src/database/ensure-database.js');
  let app;
  try {
    await ensureDatabase(databaseUrl);
    const { Module } = await import('@nestjs/common');
    const { NestFactory } = await import('@nestjs/core');
    const { CoreModule } = await import('../../dist/src/core.module.js');
    const { LlmModule } = await import('../../dist/src/agents/llm/llm.module.js');
    class GatewayBenchModule {}
    Module({ imports: [CoreModule, LlmModule] })(GatewayBenchModule);
    app = await NestFactory.createApplicationContext(GatewayBenchModule, { logger: false });
  } catch (error) {
    restoreEnv();
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  const { LlmGatewayService } = await import('../../dist/src/agents/llm/llm-gateway.service.js');
  const { DataSource } = await import('typeorm');
  const db = app.get(DataSource);

  return {
    app,
    db,
    gateway: app.get(LlmGatewayService),
    /** A new verified user's id. */
    async user() {
      const [{ id }] = await db.query(`INSERT INTO users (email, email_verified) VALUES ($1, true) RETURNING id`, [
        `bench-${randomUUID()}@example.test`,
      ]);
      return id;
    },
    async close() {
      await app.close();
      rmSync(dataDir, { recursive: true, force: true });
      restoreEnv();
      if (ownDatabase) {
        const pg = (await import('pg')).default;
        const admin = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/postgres' });
        await admin.connect();
        await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(databaseName)} WITH (FORCE)`);
        await admin.end();
      }
      const { Redis } = await import('ioredis');
      const redis = new Redis('redis://127.0.0.1:6379');
      const keys = await redis.keys(`${redisPrefix}*`);
      if (keys.length) await redis.del(...keys);
      await redis.quit();
    },
  };
}
