import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplication, Type } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { NestExpressApplication } from '@nestjs/platform-express';
import supertest from 'supertest';
import TestAgent from 'supertest/lib/agent.js';
import { AppModule } from '../../src/app.module.js';
import { configureHttpApp } from '../../src/bootstrap/configure-http-app.js';
import { createTestDatabase, dropTestDatabase } from './test-database.js';
import { TEST_REDIS_URL, redisPrefixBase, uniqueSuffix } from './test-env.js';

export interface TestApp {
  app: INestApplication;
  /** supertest bound to the app's HTTP server. */
  http: () => TestAgent;
  databaseUrl: string;
  redisPrefix: string;
  env: Record<string, string>;
  close(): Promise<void>;
}

export interface TestAppOptions {
  /** Extra environment for this app (config namespaces read it at module init). */
  env?: Record<string, string>;
  workerInProcess?: boolean;
  /** Reuse an existing database (e.g. a second API process in the same test). */
  databaseUrl?: string;
  redisPrefix?: string;
  /** Extra modules (e.g. a test-only controller) imported beside the app. */
  imports?: Type[];
}

/** The test environment every app gets: its own database, Redis prefix and data dir. */
export async function testEnvironment(options: TestAppOptions = {}) {
  const database = options.databaseUrl ? undefined : await createTestDatabase();
  const dataDir = mkdtempSync(join(tmpdir(), 'quorum-test-'));
  const env: Record<string, string> = {
    NODE_ENV: 'test',
    QUORUM_SKIP_DOTENV: 'true',
    DATABASE_URL: options.databaseUrl ?? database!.url,
    DATABASE_MIGRATIONS_RUN: 'false',
    REDIS_URL: TEST_REDIS_URL,
    REDIS_PREFIX: options.redisPrefix ?? `${redisPrefixBase()}-${uniqueSuffix()}`,
    DATA_DIR: dataDir,
    RATE_LIMIT_ENABLED: 'false',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...options.env,
  };
  return {
    env,
    cleanup: async () => {
      rmSync(dataDir, { recursive: true, force: true });
      if (database) await dropTestDatabase(database.name);
    },
  };
}

/** Applies `env` to process.env (the only thing config reads) and returns a function that restores it. */
export function applyEnv(env: Record<string, string>): () => void {
  const previous = Object.fromEntries(Object.keys(env).map((key) => [key, process.env[key]]));
  Object.assign(process.env, env);
  return () => {
    for (const [key, value] of Object.entries(previous)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  };
}

const PROVIDER_VARIABLES = [
  'OPENAI_API_KEY',
  'OPENAI_BASE_URL',
  'ANTHROPIC_API_KEY',
  'ANTHROPIC_BASE_URL',
  'GOOGLE_API_KEY',
  'GOOGLE_BASE_URL',
  'LOCAL_LLM_BASE_URL',
];

/**
 * An app whose test configures no model provider still gets one, so that `POST /tasks/:id/execute`
 * queues a run (with no provider at all it answers 422 NO_PROVIDER): OpenAI at a local port where
 * nothing listens, without retries, so such a run fails at once with LLM_UNAVAILABLE. A test that
 * wants no provider sets one of the variables to '' (unset).
 */
function withDefaultProvider(env: Record<string, string> = {}): Record<string, string> {
  if (PROVIDER_VARIABLES.some((name) => name in env)) return env;
  return { OPENAI_BASE_URL: 'http://127.0.0.1:9/v1', LLM_MAX_RETRIES: '0', ...env };
}

/** The real HTTP app, configured exactly as `main.ts` does, on its own database and Redis prefix. */
export async function createTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const { env, cleanup } = await testEnvironment({ ...options, env: withDefaultProvider(options.env) });
  const restore = applyEnv(env);
  try {
    const moduleRef = await Test.createTestingModule({
      imports: [
        await AppModule.register({ workerInProcess: options.workerInProcess ?? true }),
        ...(options.imports ?? []),
      ],
    }).compile();
    const app = moduleRef.createNestApplication<NestExpressApplication>({ bodyParser: false, bufferLogs: true });
    configureHttpApp(app);
    await app.init();
    const server = app.getHttpServer();
    return {
      app,
      http: () => supertest(server),
      databaseUrl: env.DATABASE_URL,
      redisPrefix: env.REDIS_PREFIX,
      env,
      close: async () => {
        await app.close();
        await cleanup();
      },
    };
  } finally {
    restore();
  }
}
