import { randomBytes } from 'node:crypto';
import type { INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { DataSource } from 'typeorm';
import { LlmModule } from '../../src/agents/llm/llm.module.js';
import { CoreModule } from '../../src/core.module.js';
import type { FakeLlm } from './fake-llm/index.js';
import { applyEnv, testEnvironment, TestAppOptions } from './test-app.js';

export interface LlmTestContext {
  app: INestApplicationContext;
  dataSource: DataSource;
  env: Record<string, string>;
  close(): Promise<void>;
}

/** Environment that points every provider at the fake server with fast, test-sized resilience settings. */
export function fakeLlmEnv(fake: FakeLlm, extra: Record<string, string> = {}): Record<string, string> {
  return {
    OPENAI_API_KEY: 'sk-test',
    OPENAI_BASE_URL: fake.openaiBaseUrl,
    ANTHROPIC_API_KEY: 'sk-ant-test',
    ANTHROPIC_BASE_URL: fake.anthropicBaseUrl,
    GOOGLE_API_KEY: 'g-test',
    GOOGLE_BASE_URL: fake.googleBaseUrl,
    LOCAL_LLM_BASE_URL: fake.openaiBaseUrl,
    LOCAL_LLM_MODEL: 'qwen2.5-coder',
    DEFAULT_MODEL: 'openai:gpt-4o',
    LLM_RETRY_BASE_MS: '10',
    LLM_RETRY_MAX_MS: '2000',
    LLM_TIMEOUT_MS: '15000',
    ...extra,
  };
}

/**
 * A worker-like Nest context (CoreModule + LlmModule, no HTTP) on its own database. Pass
 * `databaseUrl` and `redisPrefix` of another context to get a second "process" sharing its state.
 */
export async function createLlmContext(options: TestAppOptions = {}): Promise<LlmTestContext> {
  const { env, cleanup } = await testEnvironment(options);
  const restore = applyEnv(env);
  try {
    const moduleRef = await Test.createTestingModule({ imports: [CoreModule, LlmModule] }).compile();
    const app = await moduleRef.init();
    return {
      app,
      dataSource: app.get(DataSource),
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

/** A user row (usage and budgets reference users) for tests below HTTP; returns its id. */
export async function createUserRow(dataSource: DataSource, role: 'user' | 'admin' = 'user'): Promise<string> {
  const rows = await dataSource.query<{ id: string }[]>(
    `INSERT INTO users (email, role, email_verified) VALUES ($1, $2, true) RETURNING id`,
    [`llm-${randomBytes(6).toString('hex')}@example.test`, role],
  );
  return rows[0].id;
}
